import type { AgentProfile } from '@leash/agents';
import { DEFAULT_RETRY_POLICY, TransientError } from '@leash/bus';
import {
  createEnvelope,
  type ActionBudgetRequest,
  type AgentRef,
  type AnyEnvelope,
  type Envelope,
  type ModelBudgetRequest,
  type TopicName,
} from '@leash/contracts';
import { decisionFieldsOf, grantFields } from '@leash/signing';
import { transactionRetryingConflicts, type Transaction } from '@leash/store';
import type { z } from 'zod';
import {
  actionCapLines,
  capNeedingAmount,
  capRefusalReason,
  decideCaps,
  formatQuantity,
  modelCapLines,
  reserve,
  type CapCheck,
  type CapLine,
} from '../ledger/budget-rules';
import { LedgerBook, dayCounterId, taskCounterId, type CounterIds } from '../ledger/ledger-book';
import { systemClock, utcIso, type Clock } from '@leash/clock';
import { killRefusal } from '@leash/kill-switch';
import { BUDGET_SOURCE, CONSUMERS, tenantDay, type LedgerDeps } from '../ledger/ledger';
import {
  BudgetReservation,
  BudgetTask,
  type BudgetReservationDoc,
  type RefusalCode,
} from '../ledger/ledger.aggregates';
import { priceFor, priceOf } from '../ledger/price-table';
import type { DecideBudgetRequestCommand } from './decide-budget-request.command';

type ModelRequest = z.infer<typeof ModelBudgetRequest>;
type ActionRequest = z.infer<typeof ActionBudgetRequest>;

/**
 * A model request whose task budget has not seen yet is retried through the
 * bus's whole retry budget (about 1.5 s with the default policy) before it
 * is refused: tasks.requested travels on another topic, and under load it
 * can land well after the first model request (three attempts, 0.3 s, refused
 * one task in 96 in bench:kafka:scale at 2 processes a service).
 */
export const UNKNOWN_TASK_ATTEMPTS = DEFAULT_RETRY_POLICY.maxAttempts;

/**
 * A model request while an earlier model call of its task is still reserved
 * (its usage not settled yet) is retried this many deliveries before it is
 * decided on what is known. The usage travels on another topic and is
 * normally a moment behind; deciding before it lands would count the earlier
 * call's estimate instead of what it used, so the same run could be granted
 * or refused by timing alone.
 */
export const UNSETTLED_USAGE_ATTEMPTS = 4;

/** What the request asks to reserve, or why it is refused before any cap is looked at. */
type Ask =
  | {
      readonly ok: true;
      readonly lines: CapLine[];
      readonly usdMicros: number;
      readonly tokens: number;
      readonly amountMicros: number;
    }
  | {
      readonly ok: false;
      readonly code: RefusalCode;
      readonly cap?: string;
      readonly reason: string;
    };

interface Decision {
  readonly granted: boolean;
  readonly code?: RefusalCode;
  /** The cap that refused; a kill refuses without one. */
  readonly cap?: string;
  readonly reason: string;
}

/**
 * Decides one reservation request. Requests are keyed by tenant, so one
 * tenant's are decided one at a time; the ledger's writes are also
 * version-checked, so caps hold even when they are not (two instances
 * during a rebalance, the sweeper, settlements). The decision, the counters
 * and the answer event are written in one transaction, keyed by request id:
 * a redelivered request gets the same answer and books nothing.
 */
export class DecideBudgetRequestUseCase {
  private readonly clock: Clock;
  private readonly source: string;

  constructor(private readonly deps: LedgerDeps) {
    this.clock = deps.clock ?? systemClock;
    this.source = deps.source ?? BUDGET_SOURCE;
  }

  async execute({ event, attempt = 1 }: DecideBudgetRequestCommand): Promise<void> {
    const tenantId = event.tenantId!; // the partition key of budget.requests: validated at the edge
    const request = event.data;
    // Look-ups that may use the store happen before the transaction, which must not wait on them.
    const { agent, profile } = await this.profileFor(tenantId, request, attempt);
    const now = this.clock.now();
    const unsigned = request.kind === 'action' ? this.checkDecision(tenantId, request) : undefined;

    await transactionRetryingConflicts(this.deps.store, async (tx) => {
      if (!(await tx.inbox.claim(CONSUMERS.budgetRequests, event.id))) return;
      if (unsigned) {
        // Nothing is reserved or stored under the action's id: the genuine decision may follow.
        await tx.outbox.enqueue('actions.rejected', unsigned);
        return;
      }
      // Read in the transaction: one trip through the store's lock less per request, and
      // the zone the day is booked in cannot change under the booking.
      const { day, timeZone } = await tenantDay(tx, tenantId, now);
      const reservations = tx.repository(BudgetReservation);
      const existing = await reservations.get(request.requestId);
      if (existing) {
        await resend(tx, existing.doc);
        return;
      }
      if (request.kind === 'model' && attempt < UNSETTLED_USAGE_ATTEMPTS) {
        const unsettled = (await reservations.find({ where: { taskId: request.taskId } })).filter(
          (r) => r.doc.kind === 'model' && r.doc.status === 'reserved',
        );
        if (unsettled.length > 0) {
          throw new TransientError(
            `the usage of ${unsettled.map((r) => r.id).join(', ')} is not settled yet: ${request.requestId} waits for it`,
          );
        }
      }
      const book = new LedgerBook(tx, this.source, now);
      const ids: CounterIds = {
        task: taskCounterId(request.taskId),
        tenant_day: dayCounterId(tenantId, day),
      };
      // Checked in the transaction, so a kill applied during the look-ups still counts.
      const kill = this.deps.killSwitch?.covering({ tenantId, agent, taskId: request.taskId });
      const ask: Ask = kill
        ? {
            ok: false,
            code: 'killed',
            reason: `${killRefusal(kill, `budget reserves nothing for this ${what(request)}`)}.`,
          }
        : profile
          ? this.ask(request, profile, now)
          : unknownAgent(request);
      // A killed request books nothing, not even a task's first counter or its wall clock.
      if (!kill) {
        await book.task(tenantId, request.taskId);
        await book.day(tenantId, day, timeZone);
      }
      let decision: Decision;
      let lines: CapLine[] = [];
      if (!ask.ok) {
        decision = {
          granted: false,
          code: ask.code,
          ...(ask.cap !== undefined ? { cap: ask.cap } : {}),
          reason: ask.reason,
        };
      } else {
        const checks = book.check(ask.lines, ids);
        const verdict = decideCaps(checks);
        if (verdict.granted) {
          lines = ask.lines;
          book.change(ids, lines, reserve, profile!.caps.alarms, checks);
          decision = { granted: true, reason: grantedReason(request, ask.usdMicros, ask.tokens) };
        } else {
          // The clock still alarms on a refusal: the time is used whether or not the request fits.
          book.change(ids, [], (tallies) => tallies, profile!.caps.alarms, timed(checks));
          decision = {
            granted: false,
            code: 'cap_exceeded',
            cap: verdict.stoppedBy.cap,
            reason: capRefusalReason(verdict.stoppedBy, { day, timeZone }, what(request)),
          };
        }
      }

      const usdMicros = decision.granted && ask.ok ? ask.usdMicros : 0;
      const tokens = decision.granted && ask.ok ? ask.tokens : 0;
      const amountMicros = decision.granted && ask.ok ? ask.amountMicros : 0;
      const answer = this.answer(event, tenantId, decision, usdMicros, tokens);
      const doc: BudgetReservationDoc = {
        requestId: request.requestId,
        tenantId,
        taskId: request.taskId,
        kind: request.kind,
        ...(request.kind === 'model'
          ? { model: request.model }
          : { actionId: request.actionId, actionClass: request.decided.actionClass }),
        status: decision.granted ? 'reserved' : 'refused',
        day,
        timeZone,
        decidedAt: utcIso(now),
        deadlineAt: utcIso(request.deadlineAt),
        lines,
        alarmFractions: profile ? [...profile.caps.alarms] : [],
        reservedUsdMicros: usdMicros,
        reservedTokens: tokens,
        amountUsdMicros: amountMicros,
        ...(decision.granted
          ? {}
          : {
              refusal: {
                code: decision.code!,
                ...(decision.cap !== undefined ? { cap: decision.cap } : {}),
                reason: decision.reason,
              },
            }),
        answer: {
          topic: answer.topic,
          envelope: answer.envelope as unknown as Record<string, unknown>,
        },
        usageIds: [],
      };
      await reservations.insert(doc);
      await book.flush();
      await tx.outbox.enqueue(answer.topic as 'budget.decisions', answer.envelope as never);
    });
  }

  /** The agent the request spends for (empty when budget cannot tell) and its profile. */
  /**
   * A decision the policy gate did not sign for exactly this action books
   * nothing and gets no grant: anything on the bus could otherwise use up a
   * tenant's caps. The refusal goes to the planner and the audit.
   */
  private checkDecision(
    tenantId: string,
    request: ActionRequest,
  ): Envelope<'leash.actions.rejected.v1'> | undefined {
    const { decided } = request;
    const identity = {
      tenantId,
      taskId: request.taskId,
      actionId: decided.actionId,
      tool: decided.tool,
      arguments: decided.arguments,
    };
    const check = this.deps.verifier.verify(
      decisionFieldsOf(identity, decided.decision),
      decided.decision.signed,
    );
    if (check.ok) return undefined;
    return createEnvelope(
      'leash.actions.rejected.v1',
      {
        actionId: decided.actionId,
        agent: decided.agent,
        tool: decided.tool,
        gate: 'budget',
        code: check.failure === 'expired' ? 'expired' : 'invalid_signature',
        reason: `budget reserved nothing: the policy decision ${check.reason} (${check.failure})`,
        versions: decided.versions,
      },
      {
        id: `actions.rejected:${request.requestId}:decision-refused-by-budget`,
        source: this.source,
        tenantId,
        taskId: request.taskId,
      },
    );
  }

  private async profileFor(
    tenantId: string,
    request: ModelRequest | ActionRequest,
    attempt: number,
  ): Promise<{ agent: string; profile?: AgentProfile }> {
    let agent: Pick<AgentRef, 'name'> & { version?: number };
    if (request.kind === 'action') {
      agent = request.decided.agent;
    } else {
      const task = await this.deps.store.repository(BudgetTask).get(request.taskId);
      if (!task || task.doc.tenantId !== tenantId) {
        // tasks.requested and budget.requests are different topics: the task may simply not be registered yet.
        if (attempt < UNKNOWN_TASK_ATTEMPTS) {
          throw new TransientError(`budget has not seen task ${request.taskId} yet`);
        }
        return { agent: '' };
      }
      agent = { name: task.doc.agent, version: task.doc.agentVersion };
    }
    const profile = await this.deps.profiles.profile(agent.name, agent.version);
    return { agent: agent.name, ...(profile ? { profile } : {}) };
  }

  /** What the request would reserve, in the caps of its profile. */
  private ask(request: ModelRequest | ActionRequest, profile: AgentProfile, now: number): Ask {
    const caps = profile.caps;
    if (request.kind === 'model') {
      const price = priceFor(this.deps.prices, request.model);
      if (!price) {
        return {
          ok: false,
          code: 'unpriced',
          cap: `model.${request.model}.price`,
          reason:
            `Model "${request.model}" has no price in the budget's price table, so its cost cannot be bounded: ` +
            'the call is refused. Use a priced model.',
        };
      }
      const tokens = request.estimate.inputTokens + request.estimate.outputTokens;
      const usdMicros = priceOf(price, request.estimate);
      return {
        ok: true,
        lines: modelCapLines(caps, usdMicros, tokens),
        usdMicros,
        tokens,
        amountMicros: 0,
      };
    }
    const decided = request.decided;
    if (Date.parse(decided.decision.signed.expiresAt) <= now) {
      return {
        ok: false,
        code: 'expired',
        cap: 'decision.expiry',
        reason:
          'The policy decision expired before budget could fund it. Propose the action again.',
      };
    }
    const needs = capNeedingAmount(caps, decided.actionClass, decided.amountUsdMicros);
    if (needs) {
      return {
        ok: false,
        code: 'unpriced',
        cap: needs,
        reason:
          `Budget cap ${needs}: actions of class ${decided.actionClass} are capped by amount, ` +
          'and this one does not state the amount it moves, so it is refused.',
      };
    }
    const amountMicros = decided.amountUsdMicros ?? 0;
    return {
      ok: true,
      lines: actionCapLines(caps, decided.actionClass, amountMicros),
      usdMicros: amountMicros,
      tokens: 0,
      amountMicros,
    };
  }

  /** The event that answers the request: a budget decision for a model call, funded or rejected for an action. */
  private answer(
    event: Envelope<'leash.budget.requested.v1'>,
    tenantId: string,
    decision: Decision,
    usdMicros: number,
    tokens: number,
  ): { topic: TopicName; envelope: AnyEnvelope } {
    const request = event.data;
    const attributes = {
      // One answer per request id: a re-sent answer is a duplicate consumers drop.
      id: `answer:${request.requestId}`,
      source: this.source,
      tenantId,
      taskId: request.taskId,
    };
    if (request.kind === 'model') {
      return {
        topic: 'budget.decisions',
        envelope: createEnvelope(
          'leash.budget.decided.v1',
          {
            requestId: request.requestId,
            taskId: request.taskId,
            kind: 'model',
            granted: decision.granted,
            ...(decision.granted
              ? {
                  reservationId: request.requestId,
                  reservedUsdMicros: usdMicros,
                  reservedTokens: tokens,
                }
              : decision.cap !== undefined
                ? { cap: decision.cap }
                : {}),
            reason: decision.reason,
          },
          attributes,
        ),
      };
    }
    const decided = request.decided;
    if (!decision.granted) {
      return {
        topic: 'actions.rejected',
        envelope: createEnvelope(
          'leash.actions.rejected.v1',
          {
            actionId: decided.actionId,
            agent: decided.agent,
            tool: decided.tool,
            gate: 'budget',
            code: decision.code!,
            reason: decision.reason,
            ...(decision.cap !== undefined ? { cap: decision.cap } : {}),
            versions: decided.versions,
          },
          attributes,
        ),
      };
    }
    const identity = {
      tenantId,
      taskId: request.taskId,
      actionId: decided.actionId,
      tool: decided.tool,
      arguments: decided.arguments,
    };
    const reservationId = request.requestId;
    // The grant lives as long as the decision it funds: neither is any use without the other.
    const signed = this.deps.signer.sign(
      grantFields(identity, reservationId, usdMicros),
      new Date(decided.decision.signed.expiresAt),
    );
    return {
      topic: 'actions.funded',
      envelope: createEnvelope(
        'leash.actions.funded.v1',
        { ...decided, grant: { reservationId, reservedUsdMicros: usdMicros, signed } },
        attributes,
      ),
    };
  }
}

function unknownAgent(request: ModelRequest | ActionRequest): Ask {
  if (request.kind === 'model') {
    return {
      ok: false,
      code: 'cap_exceeded',
      cap: 'task.profile',
      reason:
        `Budget does not know which agent runs task ${request.taskId}, so it has no caps to hold the call to: ` +
        'refused.',
    };
  }
  const { name, version } = request.decided.agent;
  return {
    ok: false,
    code: 'cap_exceeded',
    cap: 'task.profile',
    reason: `Budget has no profile ${name} v${version}, so it has no caps to hold the action to: refused.`,
  };
}

function what(request: ModelRequest | ActionRequest): 'action' | 'model call' {
  return request.kind === 'action' ? 'action' : 'model call';
}

function timed(checks: readonly CapCheck[]): CapCheck[] {
  return checks.filter((check) => check.measure === 'elapsed');
}

function grantedReason(
  request: ModelRequest | ActionRequest,
  usdMicros: number,
  tokens: number,
): string {
  if (request.kind === 'model') {
    return `Reserved ${formatQuantity('tokens', tokens)} and ${formatQuantity('usd', usdMicros)} for ${request.model}.`;
  }
  return `Reserved one tool call and ${formatQuantity('amount', usdMicros)}.`;
}

/** Re-sends the stored answer as it was, id included. */
async function resend(tx: Transaction, doc: BudgetReservationDoc): Promise<void> {
  await tx.outbox.enqueue(doc.answer.topic as 'budget.decisions', doc.answer.envelope as never);
}
