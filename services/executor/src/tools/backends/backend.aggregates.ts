import { z } from 'zod';
import { defineAggregate } from '@leash/store';

/*
 * The simulated systems the reference agents act on, kept in the store so a
 * test can read what happened: a ticket exists once, a refund was never
 * issued. Every record a tool writes carries the action id that caused it
 * (the idempotency key) and the tenant and task it was for.
 */

const Iso = z.string().min(1);
const Caused = {
  tenantId: z.string().min(1),
  taskId: z.string().min(1),
  /** The action (idempotency key) that wrote this record. */
  actionId: z.string().min(1),
};

// ------------------------------------------------------------------ it-helpdesk

export const KbArticle = defineAggregate({
  name: 'sim_kb_article',
  schema: z.object({
    articleId: z.string().min(1),
    title: z.string(),
    body: z.string(),
    tags: z.array(z.string()),
  }),
  id: (a) => a.articleId,
});

export const DirectoryUser = defineAggregate({
  name: 'sim_directory_user',
  schema: z.object({
    email: z.string().min(1),
    name: z.string(),
    department: z.string(),
    passwordChangedAt: Iso.optional(),
  }),
  id: (u) => u.email,
});

export const Ticket = defineAggregate({
  name: 'sim_ticket',
  schema: z.object({
    ticketId: z.string().min(1),
    ...Caused,
    requester: z.string(),
    subject: z.string(),
    description: z.string(),
    priority: z.enum(['low', 'normal', 'high', 'urgent']),
    status: z.enum(['open', 'closed']),
    openedAt: Iso,
  }),
  id: (t) => t.ticketId,
  indexes: ['tenantId', 'taskId', 'actionId', 'requester'],
});

export const PasswordReset = defineAggregate({
  name: 'sim_password_reset',
  schema: z.object({
    resetId: z.string().min(1),
    ...Caused,
    userEmail: z.string(),
    reason: z.string(),
    /** The one-time link sent to the user; a second reset would invalidate it. */
    linkId: z.string(),
    resetAt: Iso,
  }),
  id: (r) => r.resetId,
  indexes: ['userEmail', 'taskId', 'actionId'],
});

export const SoftwareInstall = defineAggregate({
  name: 'sim_software_install',
  schema: z.object({
    /** `<deviceId>/<package>`: one row per package per device. */
    installId: z.string().min(1),
    tenantId: z.string().min(1),
    deviceId: z.string(),
    package: z.string(),
    requester: z.string(),
    status: z.enum(['installed', 'removed']),
    installedBy: z.string().describe('The action that installed it.'),
    removedBy: z.string().optional(),
    updatedAt: Iso,
  }),
  id: (i) => i.installId,
  indexes: ['deviceId', 'status'],
});

// ------------------------------------------------------------------ procurement

export const InventoryItem = defineAggregate({
  name: 'sim_inventory_item',
  schema: z.object({
    sku: z.string().min(1),
    name: z.string(),
    location: z.string(),
    onHand: z.number().int().nonnegative(),
    reorderPoint: z.number().int().nonnegative(),
    /** Units on open purchase orders. */
    onOrder: z.number().int().nonnegative(),
    supplierId: z.string(),
    unitPriceUsd: z.number().positive(),
  }),
  id: (i) => i.sku,
  indexes: ['location'],
});

export const PurchaseOrder = defineAggregate({
  name: 'sim_purchase_order',
  schema: z.object({
    orderId: z.string().min(1),
    ...Caused,
    supplierId: z.string(),
    sku: z.string(),
    quantity: z.number().int().positive(),
    unitPriceUsd: z.number().positive(),
    amountUsd: z.number().positive(),
    justification: z.string(),
    status: z.enum(['placed', 'cancelled']),
    placedAt: Iso,
    cancelledAt: Iso.optional(),
    cancelReason: z.string().optional(),
  }),
  id: (o) => o.orderId,
  indexes: ['tenantId', 'taskId', 'sku', 'status', 'actionId'],
});

export const Invoice = defineAggregate({
  name: 'sim_invoice',
  schema: z.object({
    invoiceId: z.string().min(1),
    supplierId: z.string(),
    amountUsd: z.number().positive(),
    status: z.enum(['open', 'paid']),
    paidBy: z.string().optional().describe('The transfer that paid it.'),
  }),
  id: (i) => i.invoiceId,
  indexes: ['supplierId', 'status'],
});

export const Transfer = defineAggregate({
  name: 'sim_transfer',
  schema: z.object({
    transferId: z.string().min(1),
    ...Caused,
    supplierId: z.string(),
    invoiceId: z.string(),
    amountUsd: z.number().positive(),
    memo: z.string(),
    sentAt: Iso,
  }),
  id: (t) => t.transferId,
  indexes: ['invoiceId', 'taskId', 'actionId'],
});

// ---------------------------------------------------------------------- support

export const Customer = defineAggregate({
  name: 'sim_customer',
  schema: z.object({
    customerId: z.string().min(1),
    email: z.string(),
    name: z.string(),
  }),
  id: (c) => c.customerId,
  indexes: ['email'],
});

export const CustomerOrder = defineAggregate({
  name: 'sim_customer_order',
  schema: z.object({
    orderId: z.string().min(1),
    customerId: z.string(),
    item: z.string(),
    paidUsd: z.number().positive(),
    refundedUsd: z.number().nonnegative(),
    placedAt: Iso,
  }),
  id: (o) => o.orderId,
  indexes: ['customerId'],
});

export const Email = defineAggregate({
  name: 'sim_email',
  schema: z.object({
    messageId: z.string().min(1),
    ...Caused,
    status: z.enum(['draft', 'sent']),
    to: z.array(z.string()),
    cc: z.array(z.string()),
    subject: z.string(),
    body: z.string(),
    inReplyTo: z.string().optional(),
    at: Iso,
  }),
  id: (e) => e.messageId,
  indexes: ['status', 'taskId', 'actionId'],
});

export const Refund = defineAggregate({
  name: 'sim_refund',
  schema: z.object({
    refundId: z.string().min(1),
    ...Caused,
    orderId: z.string(),
    amountUsd: z.number().positive(),
    reason: z.string(),
    note: z.string(),
    issuedAt: Iso,
  }),
  id: (r) => r.refundId,
  indexes: ['orderId', 'taskId', 'actionId'],
});

export const Escalation = defineAggregate({
  name: 'sim_escalation',
  schema: z.object({
    escalationId: z.string().min(1),
    ...Caused,
    summary: z.string(),
    urgency: z.enum(['low', 'normal', 'high']),
    at: Iso,
  }),
  id: (e) => e.escalationId,
  indexes: ['taskId', 'actionId'],
});

// ------------------------------------------------------------------ idempotency

/** The first result of each write, by tenant, operation and idempotency key. */
export const IdempotencyRecord = defineAggregate({
  name: 'sim_idempotency',
  schema: z.object({
    key: z.string().min(1),
    tenantId: z.string().min(1),
    operation: z.string().min(1),
    actionId: z.string().min(1),
    result: z.unknown(),
    at: Iso,
  }),
  id: (r) => r.key,
  indexes: ['actionId'],
});

/** Every aggregate of the simulated backends, for tests that read or clear them. */
export const BACKEND_AGGREGATES = {
  kbArticles: KbArticle,
  directoryUsers: DirectoryUser,
  tickets: Ticket,
  passwordResets: PasswordReset,
  softwareInstalls: SoftwareInstall,
  inventory: InventoryItem,
  purchaseOrders: PurchaseOrder,
  invoices: Invoice,
  transfers: Transfer,
  customers: Customer,
  customerOrders: CustomerOrder,
  emails: Email,
  refunds: Refund,
  escalations: Escalation,
  idempotency: IdempotencyRecord,
} as const;
