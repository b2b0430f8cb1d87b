import type { AgentRef, RiskClass } from '@leash/contracts';
import type { VerdictSigningKey } from '@leash/signing';
import type { CliCommand } from './arguments';
import { visible, type Terminal } from './terminal';

/** What the CLI shows of a request waiting for reviewers. */
export interface PendingApprovalView {
  readonly approvalId: string;
  readonly actionHash: string;
  readonly tenantId: string;
  readonly taskId: string;
  readonly agent: AgentRef;
  readonly tool: string;
  readonly arguments: Record<string, unknown>;
  readonly reason: string;
  readonly riskClass: RiskClass;
  /** The policy decision that sent the action to a human. */
  readonly policy: {
    readonly policyId: string;
    readonly version: number;
    readonly determiningPolicies: readonly string[];
    readonly reason: string;
    /** Arguments whose values came from untrusted text: the policy gate's signed finding. */
    readonly taintedArgs: readonly string[];
  };
  readonly reservedUsdMicros: number;
  readonly reviewerGroup: string;
  readonly reviewersRequired: number;
  readonly approvedBy: readonly string[];
  readonly expiresAt: string;
}

export type CliVerdict =
  | { readonly verdict: 'approve'; readonly comment?: string }
  | { readonly verdict: 'reject'; readonly feedback: string }
  | {
      readonly verdict: 'edit';
      readonly arguments: Record<string, unknown>;
      readonly comment?: string;
    };

/** The approvals service as the CLI reaches it: its store (read side) and the approvals.decided topic. */
export interface ApprovalsDesk {
  listPending(query: { tenantId?: string; limit?: number }): Promise<PendingApprovalView[]>;
  /** The request, if a verdict may still answer it; otherwise why not. */
  lookup(approvalId: string): Promise<PendingApprovalView | { readonly refusal: string }>;
  /**
   * Publishes the verdict bound to the request's action hash, signed with the reviewer's
   * key; resolves with the event id.
   */
  decide(
    request: PendingApprovalView,
    reviewer: string,
    verdict: CliVerdict,
    key: VerdictSigningKey,
  ): Promise<string>;
  /**
   * Checks edited arguments against the parameters of the request's tool, as
   * the policy gate will: undefined when they fit, otherwise the schema error.
   */
  checkArguments(
    request: PendingApprovalView,
    args: Record<string, unknown>,
  ): Promise<string | undefined>;
  /** What the approvals service recorded for the verdict, once it has (undefined after the timeout). */
  outcome(
    verdictId: string,
    timeoutMs: number,
  ): Promise<{ readonly accepted: boolean; readonly reason: string } | undefined>;
}

/** How long `approvals approve|reject|edit` waits for the service to record the verdict. */
export const VERDICT_WAIT_MS = 10_000;

export async function runApprovalsList(
  desk: ApprovalsDesk,
  command: Extract<CliCommand, { kind: 'approvals-list' }>,
  terminal: Terminal,
  now: Date = new Date(),
): Promise<number> {
  const pending = await desk.listPending({
    ...(command.tenantId !== undefined ? { tenantId: command.tenantId } : {}),
    ...(command.limit !== undefined ? { limit: command.limit } : {}),
  });
  if (pending.length === 0) {
    terminal.out('no pending approvals');
    return 0;
  }
  terminal.out(
    `${pending.length} pending approval${pending.length === 1 ? '' : 's'}, soonest expiry first`,
  );
  for (const request of pending) {
    terminal.out('');
    for (const line of formatPending(request, now)) terminal.out(line);
  }
  return 0;
}

/** Reads the reviewer's private key; throws an Error whose message names the file and the fix. */
export type KeySource = () => VerdictSigningKey;

export async function runApprovalsDecide(
  desk: ApprovalsDesk,
  command: Extract<CliCommand, { kind: 'approvals-decide' }>,
  terminal: Terminal,
  readKey: KeySource,
): Promise<number> {
  const found = await desk.lookup(command.approvalId);
  if ('refusal' in found) {
    terminal.err(
      visible(`leash approvals ${command.verdict}: ${found.refusal}; see leash approvals list`),
    );
    return 1;
  }
  let key: VerdictSigningKey;
  try {
    key = readKey();
  } catch (error) {
    terminal.err(`leash approvals ${command.verdict}: ${(error as Error).message}`);
    return 1;
  }
  const comment = command.comment !== undefined ? { comment: command.comment } : {};
  let verdict: CliVerdict;
  if (command.verdict === 'edit') {
    // An edit names the fields to change; the rest of the proposed call stays as it was.
    const merged = { ...found.arguments, ...command.arguments! };
    const problem = await desk.checkArguments(found, merged);
    if (problem !== undefined) {
      terminal.err(
        visible(
          `leash approvals edit: the edited arguments do not match ${found.tool}'s parameters: ` +
            `${problem}; nothing was published`,
        ),
      );
      return 2;
    }
    verdict = { verdict: 'edit', arguments: merged, ...comment };
  } else {
    verdict =
      command.verdict === 'approve'
        ? { verdict: 'approve', ...comment }
        : { verdict: 'reject', feedback: command.feedback! };
  }
  const eventId = await desk.decide(found, command.reviewer, verdict, key);
  terminal.out(
    `${command.verdict} of ${found.approvalId} by ${command.reviewer} published ` +
      `(event ${eventId}, bound to action hash ${found.actionHash.slice(0, 12)}..., ` +
      `signed with key ${key.keyId})`,
  );
  const outcome = await desk.outcome(eventId, VERDICT_WAIT_MS);
  if (!outcome) {
    terminal.err(
      `leash approvals ${command.verdict}: the approvals service has not recorded the verdict ` +
        `within ${VERDICT_WAIT_MS} ms; is it running on this bus?`,
    );
    return 1;
  }
  if (!outcome.accepted) {
    terminal.err(visible(`leash approvals ${command.verdict}: refused: ${outcome.reason}`));
    return 1;
  }
  terminal.out(visible(`accepted: ${outcome.reason}`));
  return 0;
}

export function formatPending(request: PendingApprovalView, now: Date): string[] {
  const id = request.approvalId;
  const args = visible(JSON.stringify(request.arguments), 'json');
  // Arguments and reason come from the planner: each line is escaped whole.
  const lines = [
    `${id}  expires ${request.expiresAt} (${untilText(request.expiresAt, now)})`,
    `  agent      ${request.agent.name} v${request.agent.version}, task ${request.taskId} (tenant ${request.tenantId})`,
    `  tool       ${request.tool}  risk ${request.riskClass}  cost ${usd(request.reservedUsdMicros)} reserved`,
    `  arguments  ${args}`,
    ...(request.policy.taintedArgs.length > 0
      ? [
          `  TAINTED    ${request.policy.taintedArgs.join(', ')}: copied from untrusted text (a customer's message, a web page, a tool's output); check them before you approve`,
        ]
      : []),
    `  policy     ${request.policy.policyId} v${request.policy.version}, ` +
      (request.policy.determiningPolicies.length === 0
        ? 'no rule named (the default route)'
        : `rule${request.policy.determiningPolicies.length === 1 ? '' : 's'} ${request.policy.determiningPolicies.join(', ')}`),
    `  why human  ${oneLine(request.policy.reason, 500)}`,
    `  planner    ${oneLine(request.reason, 300)}`,
    `  reviewers  ${request.approvedBy.length}/${request.reviewersRequired} of group ${request.reviewerGroup}` +
      (request.approvedBy.length > 0 ? ` (approved: ${request.approvedBy.join(', ')})` : ''),
    `  answer     leash approvals approve ${id} --reviewer <you>`,
    `             leash approvals reject ${id} --reviewer <you> --feedback "..."`,
    `             leash approvals edit ${id} --reviewer <you> --args ${shellQuote(args)}`,
  ];
  return lines.map((line) => visible(line));
}

/** Micro-dollars as dollars, with the precision small model costs need. */
export function usd(micros: number): string {
  const dollars = (micros / 1_000_000).toFixed(6).replace(/0{1,4}$/, '');
  return `$${dollars}`;
}

function untilText(iso: string, now: Date): string {
  const ms = Date.parse(iso) - now.getTime();
  if (ms <= 0) return 'expired';
  const seconds = Math.floor(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  if (hours > 0) return `in ${hours}h ${minutes % 60}m`;
  if (minutes > 0) return `in ${minutes}m ${seconds % 60}s`;
  return `in ${seconds}s`;
}

function oneLine(text: string, max: number): string {
  return text.replace(/\s+/g, ' ').slice(0, max);
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
