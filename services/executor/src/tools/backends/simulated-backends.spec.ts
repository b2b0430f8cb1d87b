import { openHarness, type Harness } from '../../test/execution-harness';
import { ToolSemanticError } from '../tool-implementation';
import {
  CustomerOrder,
  IdempotencyRecord,
  InventoryItem,
  Invoice,
  KbArticle,
  PurchaseOrder,
  Refund,
  Ticket,
  Transfer,
} from './backend.aggregates';
import { SEED_KB_ARTICLES } from './backend-seed';
import { SimulatedBackends } from './simulated-backends';

describe('SimulatedBackends', () => {
  let h: Harness;
  const call = (actionId: string) => ({ tenantId: 'acme', taskId: 'task-1', actionId });

  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(() => h.close());

  const backends = () => h.execution.backends;
  const count = (aggregate: Parameters<Harness['engines']['store']['repository']>[0]) =>
    h.engines.store.repository(aggregate).count();

  it('seeds the same starting state every time, and a second seed changes nothing', async () => {
    expect(await count(KbArticle)).toBe(SEED_KB_ARTICLES.length);
    await backends().seed();
    expect(await count(KbArticle)).toBe(SEED_KB_ARTICLES.length);
    expect((await h.engines.store.repository(InventoryItem).get('PAPER-A4'))?.doc.onHand).toBe(12);
  });

  it('acts once per idempotency key and returns the first result to every later call', async () => {
    const input = {
      requester: 'alice@acme.example',
      subject: 'VPN',
      description: 'x',
      priority: 'high',
    };
    const first = await backends().openTicket(call('a-1'), input);
    const again = await backends().openTicket(call('a-1'), { ...input, subject: 'changed' });
    expect(again).toEqual(first);
    expect(await count(Ticket)).toBe(1);
    expect((await h.engines.store.repository(Ticket).get(first.ticketId))?.doc).toMatchObject({
      subject: 'VPN',
      actionId: 'a-1',
      tenantId: 'acme',
    });
    await backends().openTicket(call('a-2'), input);
    expect(await count(Ticket)).toBe(2);
  });

  it('keys idempotency by tenant: the same action id in another tenant is another call', async () => {
    const input = {
      requester: 'a@acme.example',
      subject: 'VPN',
      description: 'x',
      priority: 'low',
    };
    await backends().openTicket(call('a-1'), input);
    await backends().openTicket({ ...call('a-1'), tenantId: 'globex' }, input);
    expect(await count(Ticket)).toBe(2);
  });

  it('changes nothing when the call was abandoned (timeout or kill) before it committed', async () => {
    const controller = new AbortController();
    controller.abort(new Error('timed out'));
    await expect(
      backends().openTicket(
        { ...call('a-0'), signal: controller.signal },
        { requester: 'a@acme.example', subject: 'VPN', description: 'x', priority: 'low' },
      ),
    ).rejects.toThrow('timed out');
    // Aborted while the write was under way: rolled back.
    const late = new AbortController();
    const aborting = new SimulatedBackends(h.engines.store, () => {
      late.abort(new Error('timed out'));
      return Date.now();
    });
    await expect(
      aborting.openTicket(
        { ...call('a-1'), signal: late.signal },
        { requester: 'a@acme.example', subject: 'VPN', description: 'x', priority: 'low' },
      ),
    ).rejects.toThrow('timed out');
    expect(await count(Ticket)).toBe(0);
    expect(await count(IdempotencyRecord)).toBe(0);
  });

  it('with a write latency, waits before writing; a kill during the wait writes nothing', async () => {
    const slow = new SimulatedBackends(h.engines.store, Date.now, { writeLatencyMs: 60_000 });
    const kill = new AbortController();
    const ticket = {
      requester: 'a@acme.example',
      subject: 'VPN',
      description: 'x',
      priority: 'low',
    };
    const writing = slow.openTicket({ ...call('a-2'), signal: kill.signal }, ticket);
    kill.abort(new Error('killed'));
    await expect(writing).rejects.toThrow();
    expect(await count(Ticket)).toBe(0);
    expect(await count(IdempotencyRecord)).toBe(0);
    const quick = new SimulatedBackends(h.engines.store, Date.now, { writeLatencyMs: 5 });
    await quick.openTicket(call('a-3'), ticket);
    expect(await count(Ticket)).toBe(1);
  });

  it('refuses what cannot succeed with a ToolSemanticError, and commits nothing', async () => {
    await expect(backends().lookupCustomer('nobody@example.com')).rejects.toThrow(
      ToolSemanticError,
    );
    await expect(
      backends().installSoftware(call('a-1'), {
        package: 'bittorrent',
        deviceId: 'LAPTOP-7',
        requester: 'bob@acme.example',
      }),
    ).rejects.toMatchObject({ name: 'ToolSemanticError', code: 'not_approved' });
    await expect(
      backends().issueRefund(call('a-2'), {
        orderId: 'O-5002',
        amountUsd: 50,
        reason: 'damaged',
        note: '',
      }),
    ).rejects.toMatchObject({ code: 'exceeds_paid' });
    await expect(
      backends().placePurchaseOrder(call('a-3'), {
        supplierId: 'SUP-OFFICE',
        sku: 'PAPER-A4',
        quantity: 10,
        unitPriceUsd: 24.5,
        amountUsd: 9999,
        justification: 'low',
      }),
    ).rejects.toMatchObject({ code: 'total_mismatch' });
    expect(await count(Refund)).toBe(0);
    expect(await count(PurchaseOrder)).toBe(0);
    expect(await count(IdempotencyRecord)).toBe(0);
  });

  it('refunds at most what was paid, across refunds', async () => {
    await backends().issueRefund(call('a-1'), {
      orderId: 'O-5001',
      amountUsd: 200,
      reason: 'damaged',
      note: '',
    });
    await expect(
      backends().issueRefund(call('a-2'), {
        orderId: 'O-5001',
        amountUsd: 50,
        reason: 'damaged',
        note: '',
      }),
    ).rejects.toMatchObject({ code: 'exceeds_paid' });
    expect((await h.engines.store.repository(CustomerOrder).get('O-5001'))?.doc.refundedUsd).toBe(
      200,
    );
    const found = await backends().lookupCustomer('jane@example.com');
    expect(found.refunds).toEqual([expect.objectContaining({ orderId: 'O-5001', amountUsd: 200 })]);
  });

  it('places and cancels a purchase order, keeping units on order in step', async () => {
    const placed = await backends().placePurchaseOrder(call('a-1'), {
      supplierId: 'SUP-OFFICE',
      sku: 'PAPER-A4',
      quantity: 40,
      unitPriceUsd: 24.5,
      amountUsd: 980,
      justification: 'low stock',
    });
    const items = h.engines.store.repository(InventoryItem);
    expect((await items.get('PAPER-A4'))?.doc.onOrder).toBe(40);
    await backends().cancelPurchaseOrder(call('a-2'), { orderId: placed.orderId, reason: 'oops' });
    // Cancelling again is a no-op, not an error: the tool is idempotent.
    await backends().cancelPurchaseOrder(call('a-3'), { orderId: placed.orderId, reason: 'oops' });
    expect((await items.get('PAPER-A4'))?.doc.onOrder).toBe(0);
    expect((await h.engines.store.repository(PurchaseOrder).get(placed.orderId))?.doc.status).toBe(
      'cancelled',
    );
  });

  it('pays an invoice once: a second transfer for it is refused', async () => {
    const input = { supplierId: 'SUP-OFFICE', invoiceId: 'INV-1001', amountUsd: 1225, memo: '' };
    await backends().transferFunds(call('a-1'), input);
    await expect(backends().transferFunds(call('a-2'), input)).rejects.toMatchObject({
      code: 'already_paid',
    });
    expect(await count(Transfer)).toBe(1);
    expect((await h.engines.store.repository(Invoice).get('INV-1001'))?.doc.status).toBe('paid');
  });

  it('finds knowledge base articles by the words of a question', async () => {
    const hits = await backends().searchKb('cannot connect to the VPN', 3);
    expect(hits[0]).toMatchObject({ articleId: 'KB-001' });
    expect(await backends().searchKb('zzz qqq', 3)).toEqual([]);
  });
});
