import type { DocOf } from '@leash/store';
import type { Customer, CustomerOrder, InventoryItem } from './backends/backend.aggregates';

/*
 * What a tool may call: one interface per backend system the reference agents
 * act on. Tools see only these; SimulatedBackends is one implementation.
 */

/** Who is calling a write, and with which idempotency key. */
export interface BackendCall {
  readonly tenantId: string;
  readonly taskId: string;
  /** The idempotency key: the action id. */
  readonly actionId: string;
  /** Checked before the write commits, so a call abandoned on timeout or kill changes nothing. */
  readonly signal?: AbortSignal;
}

export interface KnowledgeBase {
  searchKb(
    query: string,
    limit: number,
  ): Promise<{ articleId: string; title: string; body: string; score: number }[]>;
}

export interface Helpdesk {
  openTicket(
    call: BackendCall,
    input: { requester: string; subject: string; description: string; priority: string },
  ): Promise<{ ticketId: string; status: 'open' }>;
  escalate(
    call: BackendCall,
    input: { summary: string; urgency: string },
  ): Promise<{ escalationId: string; queue: string }>;
}

export interface Directory {
  resetPassword(
    call: BackendCall,
    input: { userEmail: string; reason: string },
  ): Promise<{ resetId: string; userEmail: string; linkSent: boolean }>;
}

export interface DeviceManagement {
  installSoftware(
    call: BackendCall,
    input: { package: string; deviceId: string; requester: string },
  ): Promise<{ installId: string; status: 'installed'; alreadyInstalled: boolean }>;
  uninstallSoftware(
    call: BackendCall,
    input: { package: string; deviceId: string; requester: string },
  ): Promise<{ installId: string; status: 'removed' }>;
}

export interface Inventory {
  readInventory(query: {
    sku?: string;
    location?: string;
  }): Promise<{ items: DocOf<typeof InventoryItem>[] }>;
}

export interface PurchaseOrderRequest {
  supplierId: string;
  sku: string;
  quantity: number;
  unitPriceUsd: number;
  amountUsd: number;
  justification: string;
}

export interface Purchasing {
  placePurchaseOrder(
    call: BackendCall,
    input: PurchaseOrderRequest,
  ): Promise<{ orderId: string; status: 'placed'; amountUsd: number }>;
  cancelPurchaseOrder(
    call: BackendCall,
    input: { orderId: string; reason: string },
  ): Promise<{ orderId: string; status: 'cancelled' }>;
}

export interface Payments {
  transferFunds(
    call: BackendCall,
    input: { supplierId: string; invoiceId: string; amountUsd: number; memo: string },
  ): Promise<{ transferId: string; status: 'sent' }>;
  issueRefund(
    call: BackendCall,
    input: { orderId: string; amountUsd: number; reason: string; note: string },
  ): Promise<{ refundId: string; orderId: string; amountUsd: number }>;
}

export interface Crm {
  lookupCustomer(customer: string): Promise<{
    customer: DocOf<typeof Customer>;
    orders: DocOf<typeof CustomerOrder>[];
    refunds: { refundId: string; orderId: string; amountUsd: number; issuedAt: string }[];
  }>;
}

export interface Mail {
  saveEmail(
    call: BackendCall,
    status: 'draft' | 'sent',
    input: { to: string[]; cc: string[]; subject: string; body: string; inReplyTo?: string },
  ): Promise<{ draftId: string } | { messageId: string; status: 'sent' }>;
}

/** Every backend a tool may call, as the executor hands them to a tool. */
export type ToolBackends = KnowledgeBase &
  Helpdesk &
  Directory &
  DeviceManagement &
  Inventory &
  Purchasing &
  Payments &
  Crm &
  Mail;
