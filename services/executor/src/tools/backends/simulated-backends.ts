import { setTimeout as delay } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import type { AnyAggregate, InputOf, Store, Transaction } from '@leash/store';
import { ToolSemanticError } from '../tool-implementation';
import type { BackendCall, PurchaseOrderRequest, ToolBackends } from '../tool-port';
import {
  Customer,
  CustomerOrder,
  DirectoryUser,
  Email,
  Escalation,
  IdempotencyRecord,
  InventoryItem,
  Invoice,
  KbArticle,
  PasswordReset,
  PurchaseOrder,
  Refund,
  SoftwareInstall,
  Ticket,
  Transfer,
} from './backend.aggregates';
import {
  APPROVED_SOFTWARE,
  SEED_CUSTOMERS,
  SEED_CUSTOMER_ORDERS,
  SEED_DIRECTORY_USERS,
  SEED_INVENTORY,
  SEED_INVOICES,
  SEED_KB_ARTICLES,
} from './backend-seed';

export type BackendClock = () => number;

/**
 * The systems the reference agents act on (helpdesk, directory, device
 * management, inventory, purchasing, payments, CRM, mail), simulated with real
 * state in the store. Every write takes an idempotency key: the first call
 * with a key acts and records its result in the same transaction; any later
 * call with that key returns the recorded result and changes nothing, so a
 * retry after a crash or a timeout has its effect once in total.
 */
export class SimulatedBackends implements ToolBackends {
  constructor(
    private readonly store: Store,
    private readonly now: BackendClock = Date.now,
    /** Each write first waits `writeLatencyMs`, as a real system's latency would. */
    private readonly options: { readonly writeLatencyMs?: number } = {},
  ) {}

  /** Writes the starting state where it is missing; leaves existing records as they are. */
  async seed(): Promise<void> {
    await this.store.transaction(async (tx) => {
      await insertMissing(tx, KbArticle, SEED_KB_ARTICLES);
      await insertMissing(tx, DirectoryUser, SEED_DIRECTORY_USERS);
      await insertMissing(tx, InventoryItem, SEED_INVENTORY);
      await insertMissing(tx, Invoice, SEED_INVOICES);
      await insertMissing(tx, Customer, SEED_CUSTOMERS);
      await insertMissing(tx, CustomerOrder, SEED_CUSTOMER_ORDERS);
    });
  }

  // ---------------------------------------------------------------- reads

  async searchKb(query: string, limit: number) {
    const words = tokens(query);
    const articles = await this.store.repository(KbArticle).find();
    return articles
      .map(({ doc }) => {
        const text = new Set(tokens(`${doc.title} ${doc.body} ${doc.tags.join(' ')}`));
        const score = words.filter((word) => text.has(word)).length;
        return { articleId: doc.articleId, title: doc.title, body: doc.body, score };
      })
      .filter((hit) => hit.score > 0)
      .sort((a, b) => b.score - a.score || a.articleId.localeCompare(b.articleId))
      .slice(0, limit);
  }

  async readInventory(query: { sku?: string; location?: string }) {
    const repository = this.store.repository(InventoryItem);
    if (query.sku !== undefined) {
      const item = await repository.get(query.sku);
      if (!item || (query.location !== undefined && item.doc.location !== query.location)) {
        throw new ToolSemanticError(
          `no inventory item ${query.sku}${query.location ? ` at ${query.location}` : ''}`,
          'unknown_sku',
        );
      }
      return { items: [item.doc] };
    }
    const items = await repository.find(
      query.location !== undefined ? { where: { location: query.location } } : {},
    );
    return { items: items.map((i) => i.doc).filter((i) => i.onHand < i.reorderPoint) };
  }

  async lookupCustomer(customer: string) {
    const customers = this.store.repository(Customer);
    const found = /^C-/i.test(customer)
      ? await customers.get(customer.toUpperCase())
      : (await customers.find({ where: { email: customer.toLowerCase() }, limit: 1 }))[0];
    if (!found) throw new ToolSemanticError(`no customer ${customer}`, 'unknown_customer');
    const orders = await this.store
      .repository(CustomerOrder)
      .find({ where: { customerId: found.doc.customerId } });
    const refunds =
      orders.length === 0
        ? []
        : await this.store.repository(Refund).find({ where: { orderId: orders.map((o) => o.id) } });
    return {
      customer: found.doc,
      orders: orders.map((o) => o.doc),
      refunds: refunds.map(({ doc }) => ({
        refundId: doc.refundId,
        orderId: doc.orderId,
        amountUsd: doc.amountUsd,
        issuedAt: doc.issuedAt,
      })),
    };
  }

  // --------------------------------------------------------------- writes

  openTicket(
    call: BackendCall,
    input: { requester: string; subject: string; description: string; priority: string },
  ) {
    return this.once(call, 'open_ticket', async (tx, at) => {
      const ticketId = idFor('TCK', call);
      await tx.repository(Ticket).insert({
        ticketId,
        ...caused(call),
        requester: input.requester,
        subject: input.subject,
        description: input.description,
        priority: input.priority as 'normal',
        status: 'open',
        openedAt: at,
      });
      return { ticketId, status: 'open' as const };
    });
  }

  resetPassword(call: BackendCall, input: { userEmail: string; reason: string }) {
    return this.once(call, 'reset_password', async (tx, at) => {
      const users = tx.repository(DirectoryUser);
      const user = await users.get(input.userEmail.toLowerCase());
      if (!user) {
        throw new ToolSemanticError(
          `no account ${input.userEmail} in the directory`,
          'unknown_user',
        );
      }
      const resetId = idFor('PWR', call);
      const linkId = idFor('LINK', call);
      await tx.repository(PasswordReset).insert({
        resetId,
        ...caused(call),
        userEmail: user.doc.email,
        reason: input.reason,
        linkId,
        resetAt: at,
      });
      await users.update({ ...user.doc, passwordChangedAt: at }, user.version);
      return { resetId, userEmail: user.doc.email, linkSent: true };
    });
  }

  installSoftware(
    call: BackendCall,
    input: { package: string; deviceId: string; requester: string },
  ) {
    return this.once(call, 'install_software', async (tx, at) => {
      if (!(APPROVED_SOFTWARE as readonly string[]).includes(input.package)) {
        throw new ToolSemanticError(
          `${input.package} is not on the approved software list (${APPROVED_SOFTWARE.join(', ')})`,
          'not_approved',
        );
      }
      const installs = tx.repository(SoftwareInstall);
      const installId = `${input.deviceId}/${input.package}`;
      const existing = await installs.get(installId);
      if (existing?.doc.status === 'installed') {
        // Installing what is there is a no-op: the tool is idempotent by arguments too.
        return { installId, status: 'installed' as const, alreadyInstalled: true };
      }
      const doc = {
        installId,
        tenantId: call.tenantId,
        deviceId: input.deviceId,
        package: input.package,
        requester: input.requester,
        status: 'installed' as const,
        installedBy: call.actionId,
        updatedAt: at,
      };
      if (existing) await installs.update(doc, existing.version);
      else await installs.insert(doc);
      return { installId, status: 'installed' as const, alreadyInstalled: false };
    });
  }

  uninstallSoftware(
    call: BackendCall,
    input: { package: string; deviceId: string; requester: string },
  ) {
    return this.once(call, 'uninstall_software', async (tx, at) => {
      const installs = tx.repository(SoftwareInstall);
      const installId = `${input.deviceId}/${input.package}`;
      const existing = await installs.get(installId);
      if (!existing) {
        throw new ToolSemanticError(
          `${input.package} is not installed on ${input.deviceId}`,
          'not_installed',
        );
      }
      if (existing.doc.status === 'removed') return { installId, status: 'removed' as const };
      await installs.update(
        { ...existing.doc, status: 'removed', removedBy: call.actionId, updatedAt: at },
        existing.version,
      );
      return { installId, status: 'removed' as const };
    });
  }

  placePurchaseOrder(call: BackendCall, input: PurchaseOrderRequest) {
    return this.once(call, 'place_purchase_order', async (tx, at) => {
      const items = tx.repository(InventoryItem);
      const item = await items.get(input.sku);
      if (!item) throw new ToolSemanticError(`no inventory item ${input.sku}`, 'unknown_sku');
      if (item.doc.supplierId !== input.supplierId) {
        throw new ToolSemanticError(
          `${input.sku} is supplied by ${item.doc.supplierId}, not ${input.supplierId}`,
          'wrong_supplier',
        );
      }
      if (Math.abs(input.quantity * input.unitPriceUsd - input.amountUsd) > 0.005) {
        throw new ToolSemanticError(
          `the total ${input.amountUsd} is not quantity x unit price (${input.quantity} x ${input.unitPriceUsd})`,
          'total_mismatch',
        );
      }
      const orderId = idFor('PO', call);
      await tx.repository(PurchaseOrder).insert({
        orderId,
        ...caused(call),
        supplierId: input.supplierId,
        sku: input.sku,
        quantity: input.quantity,
        unitPriceUsd: input.unitPriceUsd,
        amountUsd: input.amountUsd,
        justification: input.justification,
        status: 'placed',
        placedAt: at,
      });
      await items.update({ ...item.doc, onOrder: item.doc.onOrder + input.quantity }, item.version);
      return { orderId, status: 'placed' as const, amountUsd: input.amountUsd };
    });
  }

  cancelPurchaseOrder(call: BackendCall, input: { orderId: string; reason: string }) {
    return this.once(call, 'cancel_purchase_order', async (tx, at) => {
      const orders = tx.repository(PurchaseOrder);
      const order = await orders.get(input.orderId);
      if (!order || order.doc.tenantId !== call.tenantId) {
        throw new ToolSemanticError(`no purchase order ${input.orderId}`, 'unknown_order');
      }
      if (order.doc.status === 'cancelled') {
        return { orderId: input.orderId, status: 'cancelled' as const };
      }
      await orders.update(
        { ...order.doc, status: 'cancelled', cancelledAt: at, cancelReason: input.reason },
        order.version,
      );
      const items = tx.repository(InventoryItem);
      const item = await items.get(order.doc.sku);
      if (item) {
        const onOrder = Math.max(0, item.doc.onOrder - order.doc.quantity);
        await items.update({ ...item.doc, onOrder }, item.version);
      }
      return { orderId: input.orderId, status: 'cancelled' as const };
    });
  }

  transferFunds(
    call: BackendCall,
    input: { supplierId: string; invoiceId: string; amountUsd: number; memo: string },
  ) {
    return this.once(call, 'transfer_funds', async (tx, at) => {
      const invoices = tx.repository(Invoice);
      const invoice = await invoices.get(input.invoiceId);
      if (!invoice || invoice.doc.supplierId !== input.supplierId) {
        throw new ToolSemanticError(
          `no invoice ${input.invoiceId} from ${input.supplierId}`,
          'unknown_invoice',
        );
      }
      if (invoice.doc.status === 'paid') {
        throw new ToolSemanticError(`invoice ${input.invoiceId} is already paid`, 'already_paid');
      }
      if (Math.abs(invoice.doc.amountUsd - input.amountUsd) > 0.005) {
        throw new ToolSemanticError(
          `invoice ${input.invoiceId} is for ${invoice.doc.amountUsd} USD, not ${input.amountUsd}`,
          'amount_mismatch',
        );
      }
      const transferId = idFor('TRF', call);
      await tx.repository(Transfer).insert({
        transferId,
        ...caused(call),
        supplierId: input.supplierId,
        invoiceId: input.invoiceId,
        amountUsd: input.amountUsd,
        memo: input.memo,
        sentAt: at,
      });
      await invoices.update(
        { ...invoice.doc, status: 'paid', paidBy: transferId },
        invoice.version,
      );
      return { transferId, status: 'sent' as const };
    });
  }

  saveEmail(
    call: BackendCall,
    status: 'draft' | 'sent',
    input: { to: string[]; cc: string[]; subject: string; body: string; inReplyTo?: string },
  ) {
    return this.once(call, status === 'draft' ? 'draft_email' : 'send_email', async (tx, at) => {
      const messageId = idFor(status === 'draft' ? 'DRAFT' : 'MSG', call);
      await tx.repository(Email).insert({
        messageId,
        ...caused(call),
        status,
        to: input.to,
        cc: input.cc,
        subject: input.subject,
        body: input.body,
        ...(input.inReplyTo !== undefined ? { inReplyTo: input.inReplyTo } : {}),
        at,
      });
      return status === 'draft' ? { draftId: messageId } : { messageId, status: 'sent' as const };
    });
  }

  issueRefund(
    call: BackendCall,
    input: { orderId: string; amountUsd: number; reason: string; note: string },
  ) {
    return this.once(call, 'issue_refund', async (tx, at) => {
      const orders = tx.repository(CustomerOrder);
      const order = await orders.get(input.orderId);
      if (!order) throw new ToolSemanticError(`no order ${input.orderId}`, 'unknown_order');
      const refundable = round2(order.doc.paidUsd - order.doc.refundedUsd);
      if (input.amountUsd > refundable + 0.005) {
        throw new ToolSemanticError(
          `order ${input.orderId} has ${refundable} USD left to refund, less than ${input.amountUsd}`,
          'exceeds_paid',
        );
      }
      const refundId = idFor('RF', call);
      await tx.repository(Refund).insert({
        refundId,
        ...caused(call),
        orderId: input.orderId,
        amountUsd: input.amountUsd,
        reason: input.reason,
        note: input.note,
        issuedAt: at,
      });
      await orders.update(
        { ...order.doc, refundedUsd: round2(order.doc.refundedUsd + input.amountUsd) },
        order.version,
      );
      return { refundId, orderId: input.orderId, amountUsd: input.amountUsd };
    });
  }

  escalate(call: BackendCall, input: { summary: string; urgency: string }) {
    return this.once(call, 'escalate_to_human', async (tx, at) => {
      const escalationId = idFor('ESC', call);
      await tx.repository(Escalation).insert({
        escalationId,
        ...caused(call),
        summary: input.summary,
        urgency: input.urgency as 'normal',
        at,
      });
      return { escalationId, queue: 'support-humans' };
    });
  }

  /**
   * Runs a write at most once per (tenant, operation, key): the effect and the
   * record of its result commit together, so a crash leaves either both or
   * neither. A semantic error commits nothing and is not remembered: nothing
   * happened, and the same call fails the same way again.
   */
  private async once<R>(
    call: BackendCall,
    operation: string,
    effect: (tx: Transaction, at: string) => Promise<R>,
  ): Promise<R> {
    call.signal?.throwIfAborted();
    if (this.options.writeLatencyMs) {
      // Cut short by the call's signal (a kill, a timeout): then nothing is written.
      await delay(this.options.writeLatencyMs, undefined, { signal: call.signal });
    }
    const key = `${call.tenantId}/${operation}/${call.actionId}`;
    return this.store.transaction(async (tx) => {
      const records = tx.repository(IdempotencyRecord);
      const seen = await records.get(key);
      if (seen) return seen.doc.result as R;
      const at = new Date(this.now()).toISOString();
      const result = await effect(tx, at);
      // Abandoned while it ran (timeout, kill): roll back rather than act behind the caller's back.
      call.signal?.throwIfAborted();
      await records.insert({
        key,
        tenantId: call.tenantId,
        operation,
        actionId: call.actionId,
        result,
        at,
      });
      return result;
    });
  }
}

/** Inserts each document whose id is not there yet; leaves existing records as they are. */
export async function insertMissing<A extends AnyAggregate>(
  tx: Transaction,
  aggregate: A,
  docs: readonly InputOf<A>[],
): Promise<void> {
  const repository = tx.repository(aggregate);
  for (const doc of docs) {
    if (!(await repository.get(aggregate.id(doc)))) await repository.insert(doc);
  }
}

function caused(call: BackendCall) {
  return { tenantId: call.tenantId, taskId: call.taskId, actionId: call.actionId };
}

/** A stable id from the idempotency key: the same action always names the same record. */
function idFor(prefix: string, call: BackendCall): string {
  const digest = createHash('sha256').update(`${call.tenantId}\0${call.actionId}`).digest('hex');
  return `${prefix}-${digest.slice(0, 10).toUpperCase()}`;
}

function tokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 2);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
