import type { Bus, Subscription } from '@leash/bus';
import {
  toApprovalRequest,
  toVerdictSigningKey,
  verdictEvent,
  type ApprovalRequest,
  type Verdict,
  type VerdictKey,
} from './verdict';

export interface ApprovalConsumerOptions {
  /** The reviewer's identity, as the tenant's reviewer directory knows it. */
  readonly reviewer: string;
  /**
   * Signs every verdict: the reviewer's private key (the directory holds its public half),
   * or a trusted front end's. Without a valid signature the approvals service refuses it.
   */
  readonly key: VerdictKey;
  /** Only requests asked of this reviewer group. Default: every request. */
  readonly group?: string;
  /** Only requests of this tenant. Default: every tenant. */
  readonly tenantId?: string;
  /**
   * Decides one request. Resolve to a verdict to answer it, or to undefined to
   * leave it to other reviewers (it expires, or escalates, if nobody answers).
   */
  readonly decide: (request: ApprovalRequest) => Promise<Verdict | undefined>;
  /**
   * Consumer group of this reviewer's process. Default `leash-reviewer.<reviewer>`,
   * so a restarted process resumes where it stopped and two processes of one
   * reviewer share the requests instead of both answering.
   */
  readonly consumerGroup?: string;
  /** Start with requests made before this group first subscribed. Default true. */
  readonly fromBeginning?: boolean;
  /**
   * Called when `decide` throws; the request is then left unanswered. Without
   * it the error reaches the bus, which retries a transient error and
   * dead-letters anything else.
   */
  readonly onError?: (error: unknown, request: ApprovalRequest) => void;
  /** Called after each answer is published. */
  readonly onAnswered?: (request: ApprovalRequest, verdict: Verdict) => void;
  /** The CloudEvents source of the verdicts. Default `leash-client`. */
  readonly source?: string;
  /** Default Date.now: requests already past their expiry are skipped. */
  readonly now?: () => number;
}

/** A running reviewer process; `close` drains the request in flight. */
export interface ApprovalConsumer {
  readonly reviewer: string;
  readonly consumerGroup: string;
  close(): Promise<void>;
}

export const DEFAULT_CLIENT_SOURCE = 'leash-client';

/**
 * A reviewer's process: receives approvals.requested and answers on
 * approvals.decided. A verdict's event id is derived from the reviewer and
 * the request, so a redelivered request yields a copy the service drops
 * rather than a second verdict.
 */
export async function runApprovalConsumer(
  bus: Bus,
  options: ApprovalConsumerOptions,
): Promise<ApprovalConsumer> {
  const { reviewer } = options;
  if (!reviewer) throw new Error('runApprovalConsumer: a reviewer identity is required');
  if (!options.key) {
    throw new Error(
      `runApprovalConsumer: a key to sign ${reviewer}'s verdicts is required (leash reviewers keygen makes one)`,
    );
  }
  // Read once, so a bad key fails here rather than on the first request.
  const key = toVerdictSigningKey(options.key);
  const consumerGroup = options.consumerGroup ?? `leash-reviewer.${reviewer}`;
  const source = options.source ?? DEFAULT_CLIENT_SOURCE;
  const now = options.now ?? Date.now;

  const subscription: Subscription = await bus.subscribe(
    consumerGroup,
    ['approvals.requested'],
    async (delivery) => {
      const event = delivery.event;
      if (event.type !== 'leash.approvals.requested.v1') return;
      const request = toApprovalRequest(event);
      if (!request) return;
      if (options.group !== undefined && request.reviewerGroup !== options.group) return;
      if (options.tenantId !== undefined && request.tenantId !== options.tenantId) return;
      // An answer after expiry is refused anyway; do not ask a person about it.
      if (Date.parse(request.expiresAt) <= now()) return;

      let verdict: Verdict | undefined;
      try {
        verdict = await options.decide(request);
      } catch (error) {
        if (!options.onError) throw error;
        options.onError(error, request);
        return;
      }
      if (verdict === undefined) return;
      const answer = verdictEvent(request, reviewer, verdict, {
        source,
        id: `verdict:${reviewer}:${request.approvalId}`,
        key,
      });
      await bus.publish('approvals.decided', answer);
      options.onAnswered?.(request, verdict);
    },
    { fromBeginning: options.fromBeginning ?? true },
  );
  return { reviewer, consumerGroup, close: () => subscription.close() };
}
