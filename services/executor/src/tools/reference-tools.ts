import { REFERENCE_TOOLS, type ToolDefinition } from '@leash/agents';
import type { BackendCall } from './tool-port';
import type { ToolContext, ToolImplementation } from './tool-implementation';

/*
 * The code behind each reference tool, over the simulated backends. Each
 * implementation receives arguments already parsed by the tool's own zod
 * parameters (defaults filled in), and passes the action id on as the
 * backend's idempotency key.
 */

type Args = Record<string, unknown>;

const str = (args: Args, name: string): string => args[name] as string;
const num = (args: Args, name: string): number => args[name] as number;
const opt = (args: Args, name: string): string | undefined => args[name] as string | undefined;

function call(ctx: ToolContext): BackendCall {
  return { tenantId: ctx.tenantId, taskId: ctx.taskId, actionId: ctx.actionId, signal: ctx.signal };
}

function email(args: Args) {
  return {
    to: args['to'] as string[],
    cc: (args['cc'] as string[] | undefined) ?? [],
    subject: str(args, 'subject'),
    body: str(args, 'body'),
    ...(opt(args, 'inReplyTo') !== undefined ? { inReplyTo: str(args, 'inReplyTo') } : {}),
  };
}

/** Every reference tool's implementation, by tool name. */
export const REFERENCE_IMPLEMENTATIONS: Readonly<Record<string, ToolImplementation>> = {
  // it-helpdesk
  search_kb: async (args, ctx) => ({
    articles: await ctx.backends.searchKb(str(args, 'query'), num(args, 'limit')),
  }),
  open_ticket: (args, ctx) =>
    ctx.backends.openTicket(call(ctx), {
      requester: str(args, 'requester'),
      subject: str(args, 'subject'),
      description: str(args, 'description'),
      priority: str(args, 'priority'),
    }),
  reset_password: (args, ctx) =>
    ctx.backends.resetPassword(call(ctx), {
      userEmail: str(args, 'userEmail'),
      reason: str(args, 'reason'),
    }),
  install_software: (args, ctx) =>
    ctx.backends.installSoftware(call(ctx), {
      package: str(args, 'package'),
      deviceId: str(args, 'deviceId'),
      requester: str(args, 'requester'),
    }),
  uninstall_software: (args, ctx) =>
    ctx.backends.uninstallSoftware(call(ctx), {
      package: str(args, 'package'),
      deviceId: str(args, 'deviceId'),
      requester: str(args, 'requester'),
    }),

  // procurement
  read_inventory: (args, ctx) =>
    ctx.backends.readInventory({
      ...(opt(args, 'sku') !== undefined ? { sku: str(args, 'sku') } : {}),
      ...(opt(args, 'location') !== undefined ? { location: str(args, 'location') } : {}),
    }),
  place_purchase_order: (args, ctx) =>
    ctx.backends.placePurchaseOrder(call(ctx), {
      supplierId: str(args, 'supplierId'),
      sku: str(args, 'sku'),
      quantity: num(args, 'quantity'),
      unitPriceUsd: num(args, 'unitPriceUsd'),
      amountUsd: num(args, 'amountUsd'),
      justification: str(args, 'justification'),
    }),
  cancel_purchase_order: (args, ctx) =>
    ctx.backends.cancelPurchaseOrder(call(ctx), {
      orderId: str(args, 'orderId'),
      reason: str(args, 'reason'),
    }),
  transfer_funds: (args, ctx) =>
    ctx.backends.transferFunds(call(ctx), {
      supplierId: str(args, 'supplierId'),
      invoiceId: str(args, 'invoiceId'),
      amountUsd: num(args, 'amountUsd'),
      memo: opt(args, 'memo') ?? '',
    }),

  // support
  lookup_customer: (args, ctx) => ctx.backends.lookupCustomer(str(args, 'customer')),
  draft_email: (args, ctx) => ctx.backends.saveEmail(call(ctx), 'draft', email(args)),
  send_email: (args, ctx) => ctx.backends.saveEmail(call(ctx), 'sent', email(args)),
  issue_refund: (args, ctx) =>
    ctx.backends.issueRefund(call(ctx), {
      orderId: str(args, 'orderId'),
      amountUsd: num(args, 'amountUsd'),
      reason: str(args, 'reason'),
      note: opt(args, 'note') ?? '',
    }),
  escalate_to_human: (args, ctx) =>
    ctx.backends.escalate(call(ctx), {
      summary: str(args, 'summary'),
      urgency: str(args, 'urgency'),
    }),
};

/** The reference tools' definitions, each paired with its implementation. */
export function referenceTools(): { definition: ToolDefinition; run: ToolImplementation }[] {
  return REFERENCE_TOOLS.names.map((name) => {
    const run = REFERENCE_IMPLEMENTATIONS[name];
    if (!run) throw new Error(`reference tool ${name} has no implementation in the executor`);
    return { definition: REFERENCE_TOOLS.tool(name)!, run };
  });
}
