import { z } from 'zod';
import { defineTool } from '../../tool-definition';

const Usd = z.number().positive().max(1_000_000_000);

export const readInventory = defineTool({
  name: 'read_inventory',
  version: 1,
  description:
    'Read stock levels and reorder points. Give a SKU for one item, or leave it out for every item below its reorder point.',
  parameters: z.object({
    sku: z.string().min(1).max(64).optional().describe('One stock-keeping unit, e.g. "PAPER-A4".'),
    location: z.string().min(1).max(64).optional().describe('A warehouse code; all when absent.'),
  }),
  riskClass: 'read',
  actionClass: 'inventory_read',
  tags: ['internal'],
  idempotent: true,
  timeoutMs: 5_000,
});

export const placePurchaseOrder = defineTool({
  name: 'place_purchase_order',
  // 2: amountPer (the SKU) joined its definition.
  version: 2,
  description:
    'Order stock from a supplier. One order per SKU; the total must equal quantity times unit price. A single order may not exceed $10,000, and a day of orders has an overall cap. Returns the order id.',
  parameters: z.object({
    supplierId: z.string().min(1).max(64).describe('The supplier, from the inventory record.'),
    sku: z.string().min(1).max(64).describe('What to order.'),
    quantity: z.number().int().positive().max(1_000_000).describe('How many units.'),
    unitPriceUsd: Usd.describe('Price per unit in US dollars, from the supplier catalogue.'),
    amountUsd: Usd.describe('The order total in US dollars: quantity x unit price.'),
    justification: z
      .string()
      .min(3)
      .max(1_000)
      .describe('Why this order is needed now, e.g. "stock 12 below reorder point 50".'),
  }),
  riskClass: 'write',
  actionClass: 'purchase_order',
  tags: ['money'],
  identities: { supplierId: 'id' },
  idempotent: false,
  amountField: 'amountUsd',
  // Orders of one SKU in a task add up against the per-order limit: a split order is one order.
  amountPer: ['sku'],
  compensation: {
    tool: 'cancel_purchase_order',
    arguments: (_original, output) => ({
      orderId: (output as { orderId?: unknown } | undefined)?.orderId,
      reason: 'compensating a failed or rejected step',
    }),
  },
  timeoutMs: 20_000,
});

export const cancelPurchaseOrder = defineTool({
  name: 'cancel_purchase_order',
  version: 1,
  description:
    'Cancel a purchase order that has not shipped. Use it to undo an order placed by mistake.',
  parameters: z.object({
    orderId: z.string().min(1).max(64).describe('The id place_purchase_order returned.'),
    reason: z.string().min(3).max(1_000).describe('Why the order is cancelled.'),
  }),
  riskClass: 'write',
  actionClass: 'purchase_order_cancel',
  tags: ['internal'],
  idempotent: true,
  timeoutMs: 20_000,
});

export const transferFunds = defineTool({
  name: 'transfer_funds',
  version: 1,
  description:
    "Pay a supplier invoice by bank transfer. Money cannot be recalled once sent, so a person approves each transfer; a day's transfers have a cap.",
  parameters: z.object({
    supplierId: z.string().min(1).max(64).describe('The payee, as in the supplier registry.'),
    invoiceId: z.string().min(1).max(64).describe('The invoice being paid.'),
    amountUsd: Usd.describe('The amount to send, in US dollars.'),
    memo: z.string().max(140).default('').describe('Reference shown on the payment.'),
  }),
  riskClass: 'irreversible',
  actionClass: 'transfer',
  tags: ['money'],
  identities: { supplierId: 'id' },
  idempotent: false,
  amountField: 'amountUsd',
  timeoutMs: 30_000,
  retry: { maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 },
});

export const PROCUREMENT_TOOLS = [
  readInventory,
  placePurchaseOrder,
  cancelPurchaseOrder,
  transferFunds,
] as const;
