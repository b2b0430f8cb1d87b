import { z } from 'zod';
import { toolJsonSchema, type ToolSource } from '@leash/agents';
import type { Bus } from '@leash/bus';
import { LeashClient, type Verdict } from '@leash/client';
import type { AgentRef, RiskClass } from '@leash/contracts';
import type { VerdictSigningKey } from '@leash/signing';
import { defineAggregate, type Store } from '@leash/store';
import { createApprovalQueries, type ApprovalQueries } from '../gate/approval-gate.factory';
import type { ApprovalStatus } from '../gate/approvals.aggregates';
import { checkEditedArguments } from '../record-verdict/check-edited-arguments';
import { checkReviewer } from '../reviewers/reviewer-directory';
import {
  toPendingApproval,
  type PendingApproval,
} from '../list-pending-approvals/list-pending-approvals.usecase';
import type { InboxSession } from './inbox-sign-in';

/*
 * What the inbox shows and does for one signed-in reviewer: their queue,
 * one request in full, and a verdict sent in their name, signed by the
 * inbox as a trusted front end. The reviewer is always the session's: no
 * request body can name another.
 */

/** A task's input as the upstream system gave it, kept for reviewers (tasks.requested). */
export const InboxTaskInput = z.object({
  id: z.string().min(1),
  tenantId: z.string().min(1),
  taskId: z.string().min(1),
  agent: z.string().min(1),
  input: z.string(),
  requestedAt: z.string(),
});
export const inboxTaskInputs = defineAggregate({
  name: 'approvals_inbox_task_inputs',
  schema: InboxTaskInput,
  id: (doc) => doc.id,
});
export const taskInputId = (tenantId: string, taskId: string) => `${tenantId}/${taskId}`;

/** One line of the queue. */
export interface QueueItem {
  readonly approvalId: string;
  readonly tenantId: string;
  readonly taskId: string;
  readonly agent: AgentRef;
  readonly tool: string;
  readonly riskClass: RiskClass;
  /** The action's amount in US dollars, when one of its arguments is one. */
  readonly amountUsd?: number;
  readonly reviewerGroup: string;
  readonly approvals: number;
  readonly reviewersRequired: number;
  readonly tainted: boolean;
  readonly expiresAt: string;
  readonly requestedAt: string;
}

/** One request in full, for its page. */
export interface RequestDetail extends PendingApproval {
  readonly status: ApprovalStatus;
  readonly closedReason?: string;
  readonly taskInput?: string;
  /** Each tainted argument, and where its value was found. */
  readonly taint: readonly { readonly argument: string; readonly foundIn: string }[];
  readonly parametersSchema?: Record<string, unknown>;
  readonly traceUrl?: string;
  /** Whether the signed-in reviewer may answer it now. */
  readonly answerable: boolean;
  readonly notAnswerableBecause?: string;
}

const Comment = z.string().trim().max(10_000).optional();
/** What the page may post: never a reviewer, never a hash (both come from the server). */
export const VerdictBody = z.discriminatedUnion('verdict', [
  z.strictObject({ verdict: z.literal('approve'), comment: Comment }),
  z.strictObject({
    verdict: z.literal('reject'),
    feedback: z.string().trim().min(1, 'feedback is required to reject').max(10_000),
  }),
  z.strictObject({
    verdict: z.literal('edit'),
    arguments: z.record(z.string(), z.unknown()),
    comment: Comment,
  }),
]);

export type VerdictResult =
  | { readonly status: 200; readonly accepted: true; readonly reason: string }
  | { readonly status: 400 | 403 | 404 | 409 | 422 | 429 | 504; readonly error: string };

export interface InboxDeskOptions {
  readonly store: Store;
  readonly bus: Bus;
  readonly tools: ToolSource;
  /** The inbox's front-end key: it signs verdicts naming the session's reviewer. */
  readonly key: VerdictSigningKey;
  readonly verdictsPerMinute: number;
  readonly traceUrl?: string;
  readonly now?: () => number;
  /** How long to wait for the approvals service to record a verdict. */
  readonly verdictWaitMs?: number;
}

const AMOUNT = /^amount(usd)?$/i;

function amountOf(args: Record<string, unknown>): number | undefined {
  for (const [name, value] of Object.entries(args)) {
    if (AMOUNT.test(name) && typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return undefined;
}

export function toQueueItem(pending: PendingApproval): QueueItem {
  const amountUsd = amountOf(pending.arguments);
  return {
    approvalId: pending.approvalId,
    tenantId: pending.tenantId,
    taskId: pending.taskId,
    agent: pending.agent,
    tool: pending.tool,
    riskClass: pending.riskClass,
    ...(amountUsd !== undefined ? { amountUsd } : {}),
    reviewerGroup: pending.reviewerGroup,
    approvals: pending.approvedBy.length,
    reviewersRequired: pending.reviewersRequired,
    tainted: pending.policy.taintedArgs.length > 0,
    expiresAt: pending.expiresAt,
    requestedAt: pending.requestedAt,
  };
}

/** Per reviewer, the times of their verdicts in the last minute. */
class VerdictRateLimit {
  private readonly sent = new Map<string, number[]>();
  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {}

  /** True and counted when the reviewer may send one more. */
  take(reviewer: string): boolean {
    const now = this.now();
    const recent = (this.sent.get(reviewer) ?? []).filter((at) => at > now - 60_000);
    if (recent.length >= this.perMinute) {
      this.sent.set(reviewer, recent);
      return false;
    }
    recent.push(now);
    this.sent.set(reviewer, recent);
    return true;
  }
}

export class InboxDesk {
  readonly queries: ApprovalQueries;
  private readonly client: LeashClient;
  private readonly limit: VerdictRateLimit;
  private readonly now: () => number;

  constructor(private readonly options: InboxDeskOptions) {
    this.now = options.now ?? Date.now;
    this.queries = createApprovalQueries(options.store, { now: this.now });
    this.client = new LeashClient({ bus: options.bus, source: `leash-inbox` });
    this.limit = new VerdictRateLimit(options.verdictsPerMinute, this.now);
  }

  /** The requests the reviewer may answer now, soonest expiry first. */
  async queue(session: Pick<InboxSession, 'reviewer' | 'tenants'>): Promise<QueueItem[]> {
    const lists = await Promise.all(
      session.tenants.map((tenantId) =>
        this.queries.listPendingApprovals.execute({
          tenantId,
          reviewer: session.reviewer,
          limit: 500,
        }),
      ),
    );
    return lists
      .flat()
      .map(toQueueItem)
      .sort(
        (a, b) =>
          a.expiresAt.localeCompare(b.expiresAt) || a.approvalId.localeCompare(b.approvalId),
      );
  }

  /**
   * One request, if the reviewer may see it: one of their tenants, and their group
   * (now, or when they answered it). Undefined otherwise, so nothing leaks.
   */
  async request(
    session: Pick<InboxSession, 'reviewer' | 'tenants'>,
    approvalId: string,
  ): Promise<RequestDetail | undefined> {
    const request = await this.queries.request(approvalId);
    if (!request || !session.tenants.includes(request.tenantId)) return undefined;
    const pending = toPendingApproval(request);
    const entry = await this.queries.directory.get(request.tenantId, session.reviewer);
    const check = checkReviewer(entry, {
      tenantId: request.tenantId,
      reviewer: session.reviewer,
      group: request.reviewerGroup,
      tool: pending.tool,
    });
    if (!check.allowed) return undefined;
    const why = this.notAnswerable(
      request.status,
      request.expiresAt,
      pending.approvedBy,
      session.reviewer,
    );
    const input = (
      await this.options.store
        .repository(inboxTaskInputs)
        .get(taskInputId(request.tenantId, request.taskId))
    )?.doc.input;
    const tool = this.options.tools.tool(pending.tool);
    const tainted = request.funded.decision.taintedArgs ?? [];
    return {
      ...pending,
      status: request.status,
      ...(request.closedReason !== undefined ? { closedReason: request.closedReason } : {}),
      ...(input !== undefined ? { taskInput: input } : {}),
      taint: tainted.map((argument) => ({
        argument,
        foundIn: foundIn(pending.arguments[argument], input),
      })),
      ...(tool ? { parametersSchema: toolJsonSchema(tool) } : {}),
      ...(this.options.traceUrl !== undefined
        ? {
            traceUrl: this.options.traceUrl.replaceAll(
              '{taskId}',
              encodeURIComponent(request.taskId),
            ),
          }
        : {}),
      answerable: why === undefined,
      ...(why !== undefined ? { notAnswerableBecause: why } : {}),
    };
  }

  /** Publishes the session reviewer's verdict, signed by the inbox; waits for the service's record. */
  async decide(
    session: Pick<InboxSession, 'reviewer' | 'tenants'>,
    approvalId: string,
    body: unknown,
  ): Promise<VerdictResult> {
    const parsed = VerdictBody.safeParse(body);
    if (!parsed.success) return { status: 400, error: z.prettifyError(parsed.error) };
    const detail = await this.request(session, approvalId);
    if (!detail) return { status: 404, error: `no approval request ${approvalId} for you` };
    if (!detail.answerable) return { status: 409, error: detail.notAnswerableBecause! };
    if (parsed.data.verdict === 'edit') {
      const problem = await checkEditedArguments(
        this.options.store,
        this.options.tools,
        detail,
        parsed.data.arguments,
      );
      if (problem !== undefined) {
        return { status: 422, error: `the arguments do not fit ${detail.tool}: ${problem}` };
      }
    }
    // Counted only for a verdict that would be sent: a typo in an edit costs nothing.
    if (!this.limit.take(session.reviewer)) {
      return {
        status: 429,
        error: `at most ${this.options.verdictsPerMinute} verdicts a minute; wait and send again`,
      };
    }
    const verdict = parsed.data as Verdict;
    const event = await this.client.decide(detail, session.reviewer, verdict, {
      key: this.options.key,
    });
    // Real time, whatever clock decides expiry: this waits for another process.
    const deadline = Date.now() + (this.options.verdictWaitMs ?? 10_000);
    for (;;) {
      const record = await this.queries.verdict(event.id);
      if (record) {
        return record.outcome === 'accepted'
          ? { status: 200, accepted: true, reason: record.reason }
          : { status: 409, error: `refused: ${record.reason}` };
      }
      if (Date.now() >= deadline) {
        return { status: 504, error: 'the approvals service has not recorded the verdict yet' };
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  private notAnswerable(
    status: ApprovalStatus,
    expiresAt: string,
    approvedBy: readonly string[],
    reviewer: string,
  ): string | undefined {
    if (status !== 'pending') return `this request is ${status}`;
    if (Date.parse(expiresAt) <= this.now()) return `this request expired at ${expiresAt}`;
    if (approvedBy.includes(reviewer))
      return 'you approved it already; it waits for another reviewer';
    return undefined;
  }
}

function foundIn(value: unknown, input: string | undefined): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (input !== undefined && text !== undefined && text.length > 0 && input.includes(text)) {
    return "the task's input (untrusted text from outside)";
  }
  return "untrusted text the agent read (a tool's output or the task's input)";
}
