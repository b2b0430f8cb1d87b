import { REFERENCE_TOOLS } from '@leash/agents';
import { openHarness, type Harness } from '../test/execution-harness';
import { Email, Escalation, PasswordReset, SoftwareInstall } from './backends/backend.aggregates';
import { REFERENCE_IMPLEMENTATIONS } from './reference-tools';
import type { ToolContext } from './tool-implementation';

describe('reference tool implementations', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(() => h.close());

  /** Runs a tool as the executor does: arguments parsed by the tool's own parameters first. */
  async function run(tool: string, args: Record<string, unknown>, actionId = `${tool}-1`) {
    const parsed = REFERENCE_TOOLS.tool(tool)!.parameters.parse(args) as Record<string, unknown>;
    const ctx: ToolContext = {
      actionId,
      tenantId: 'acme',
      taskId: 'task-1',
      signal: new AbortController().signal,
      backends: h.execution.backends,
    };
    return REFERENCE_IMPLEMENTATIONS[tool]!(parsed, ctx);
  }

  it('it-helpdesk: searches, resets a password, installs and uninstalls approved software', async () => {
    expect(await run('search_kb', { query: 'printer offline' })).toMatchObject({
      articles: [expect.objectContaining({ articleId: 'KB-003' })],
    });
    expect(
      await run('reset_password', { userEmail: 'bob@acme.example', reason: 'locked out' }),
    ).toMatchObject({ userEmail: 'bob@acme.example', linkSent: true });
    await expect(
      run('reset_password', { userEmail: 'ghost@acme.example', reason: 'locked out' }, 'r-2'),
    ).rejects.toMatchObject({ code: 'unknown_user' });
    expect(await h.engines.store.repository(PasswordReset).count()).toBe(1);

    const device = { package: 'zoom', deviceId: 'LAPTOP-7', requester: 'bob@acme.example' };
    expect(await run('install_software', device)).toMatchObject({ status: 'installed' });
    expect(await run('uninstall_software', device)).toMatchObject({ status: 'removed' });
    expect(
      (await h.engines.store.repository(SoftwareInstall).get('LAPTOP-7/zoom'))?.doc,
    ).toMatchObject({
      status: 'removed',
      installedBy: 'install_software-1',
      removedBy: 'uninstall_software-1',
    });
  });

  it('procurement: reads what is below its reorder point, or one SKU', async () => {
    const low = (await run('read_inventory', {})) as { items: { sku: string }[] };
    expect(low.items.map((i) => i.sku).sort()).toEqual(['CHAIR-ERGO', 'PAPER-A4', 'TONER-X1']);
    await expect(run('read_inventory', { sku: 'NOPE' })).rejects.toMatchObject({
      code: 'unknown_sku',
    });
  });

  it('support: looks up, drafts, sends, refunds and escalates', async () => {
    expect(await run('lookup_customer', { customer: 'C-1043' })).toMatchObject({
      customer: { email: 'omar@example.org' },
      orders: [expect.objectContaining({ orderId: 'O-5003' })],
    });
    const message = { to: ['jane@example.com'], subject: 'Your refund', body: 'Done.' };
    expect(await run('draft_email', message)).toMatchObject({ draftId: expect.any(String) });
    expect(await run('send_email', message)).toMatchObject({ status: 'sent' });
    expect(
      await run('issue_refund', { orderId: 'O-5004', amountUsd: 85, reason: 'damaged' }),
    ).toMatchObject({ orderId: 'O-5004', amountUsd: 85 });
    expect(await run('escalate_to_human', { summary: 'wants a manager' })).toMatchObject({
      escalationId: expect.any(String),
    });
    const emails = h.engines.store.repository(Email);
    expect(await emails.count({ where: { status: 'sent' } })).toBe(1);
    expect(await emails.count({ where: { status: 'draft' } })).toBe(1);
    expect(await h.engines.store.repository(Escalation).count()).toBe(1);
  });

  /** One valid call per tool: a renamed parameter fails here, before it fails in production. */
  const SAMPLES: Record<string, Record<string, unknown>> = {
    search_kb: { query: 'vpn error' },
    open_ticket: { requester: 'alice@acme.example', subject: 'VPN down', description: 'error 809' },
    reset_password: { userEmail: 'alice@acme.example', reason: 'forgot it' },
    install_software: { package: 'slack', deviceId: 'LAPTOP-1', requester: 'alice@acme.example' },
    uninstall_software: { package: 'slack', deviceId: 'LAPTOP-1', requester: 'alice@acme.example' },
    read_inventory: { sku: 'BOLT-M6' },
    place_purchase_order: {
      supplierId: 'SUP-HARDWARE',
      sku: 'BOLT-M6',
      quantity: 2,
      unitPriceUsd: 7.25,
      amountUsd: 14.5,
      justification: 'restock',
    },
    cancel_purchase_order: { orderId: 'set below', reason: 'placed by mistake' },
    transfer_funds: { supplierId: 'SUP-FURNITURE', invoiceId: 'INV-1003', amountUsd: 310 },
    lookup_customer: { customer: 'jane@example.com' },
    draft_email: { to: ['jane@example.com'], subject: 'Hi', body: 'Hello' },
    send_email: { to: ['jane@example.com'], subject: 'Hi', body: 'Hello' },
    issue_refund: { orderId: 'O-5002', amountUsd: 5, reason: 'late' },
    escalate_to_human: { summary: 'needs a person', urgency: 'high' },
  };

  it('runs every reference tool with valid arguments', async () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(REFERENCE_TOOLS.names);
    const outputs: Record<string, unknown> = {};
    // An order is cancelled after it is placed.
    const order = [
      ...REFERENCE_TOOLS.names.filter((n) => n !== 'cancel_purchase_order'),
      'cancel_purchase_order',
    ];
    for (const name of order) {
      const args =
        name === 'cancel_purchase_order'
          ? {
              ...SAMPLES[name],
              orderId: (outputs['place_purchase_order'] as { orderId: string }).orderId,
            }
          : SAMPLES[name]!;
      outputs[name] = await run(name, args);
    }
    expect(outputs['cancel_purchase_order']).toMatchObject({ status: 'cancelled' });
    expect(outputs['transfer_funds']).toMatchObject({ status: 'sent' });
  });
});
