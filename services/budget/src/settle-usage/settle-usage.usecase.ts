import type { UsageRecordedV1 } from '@leash/contracts';
import { transactionRetryingConflicts } from '@leash/store';
import {
  CAP,
  actionActuals,
  book,
  modelActuals,
  overrun,
  settle,
  type Actuals,
  type CapLine,
} from '../ledger/budget-rules';
import { LedgerBook, dayCounterId, taskCounterId } from '../ledger/ledger-book';
import { systemClock, utcIso, type Clock } from '@leash/clock';
import { BUDGET_SOURCE, CONSUMERS, tenantDay, type LedgerDeps } from '../ledger/ledger';
import {
  BudgetReservation,
  BudgetUsage,
  type BudgetReservationDoc,
} from '../ledger/ledger.aggregates';
import { priceFor, priceOf } from '../ledger/price-table';
import { actionRequestId } from '../fund-decided-action/fund-decided-action.usecase';
import type { SettleUsageCommand } from './settle-usage.command';

/**
 * Books what a call really used and releases the rest of its reservation.
 * Idempotent by usage id. Usage that arrives after its reservation was
 * charged in full only adds what exceeds the charge; usage with no
 * reservation is booked as it is, since the spend happened either way.
 */
export class SettleUsageUseCase {
  private readonly clock: Clock;
  private readonly source: string;

  constructor(private readonly deps: Pick<LedgerDeps, 'store' | 'prices' | 'clock' | 'source'>) {
    this.clock = deps.clock ?? systemClock;
    this.source = deps.source ?? BUDGET_SOURCE;
  }

  async execute({ event }: SettleUsageCommand): Promise<void> {
    const usage = event.data;
    const tenantId = event.tenantId;
    // Unreserved usage is booked on today's counter in the tenant's zone; read before the transaction.
    const now = this.clock.now();
    const today = tenantId ? await tenantDay(this.deps.store, tenantId, now) : undefined;

    await transactionRetryingConflicts(this.deps.store, async (tx) => {
      if (!(await tx.inbox.claim(CONSUMERS.usageRecorded, event.id))) return;
      const usages = tx.repository(BudgetUsage);
      if (await usages.get(usage.usageId)) return;
      const reservations = tx.repository(BudgetReservation);
      const reservationId = reservationIdOf(usage);
      const stored = reservationId ? await reservations.get(reservationId) : undefined;
      const reservation = stored && stored.doc.taskId === usage.taskId ? stored : undefined;
      await usages.insert({
        usageId: usage.usageId,
        taskId: usage.taskId,
        ...(reservation ? { reservationId: reservation.id } : {}),
        bookedAt: utcIso(now),
      });

      const ledger = new LedgerBook(tx, this.source, now);
      if (reservation && reservation.doc.status !== 'refused') {
        const doc = reservation.doc;
        const ids = {
          task: taskCounterId(doc.taskId),
          tenant_day: dayCounterId(doc.tenantId, doc.day),
        };
        await ledger.task(doc.tenantId, doc.taskId);
        await ledger.day(doc.tenantId, doc.day, doc.timeZone);
        const actuals = this.actualsOf(usage, doc);
        if (doc.status === 'reserved') {
          ledger.change(
            ids,
            doc.lines,
            (tallies, lines) => settle(tallies, lines, actuals),
            undefined,
          );
        } else {
          // Charged in full already: only what exceeds the charge is new. Settled already: a
          // further report is more spend, but the action's amount and call were booked once.
          const extra =
            doc.status === 'charged' ? overrun(doc.lines, actuals) : further(actuals, doc);
          ledger.change(ids, doc.lines, (tallies, lines) => book(tallies, lines, extra), undefined);
        }
        await reservations.update(
          {
            ...doc,
            status: doc.status === 'reserved' ? 'settled' : doc.status,
            settledAt: doc.settledAt ?? utcIso(now),
            usageIds: [...doc.usageIds, usage.usageId],
          },
          reservation.version,
        );
      } else if (tenantId && today) {
        const { day, timeZone } = today;
        const ids = { task: taskCounterId(usage.taskId), tenant_day: dayCounterId(tenantId, day) };
        await ledger.task(tenantId, usage.taskId);
        await ledger.day(tenantId, day, timeZone);
        const lines = unreservedLines(usage);
        const actuals = this.actualsOf(usage, undefined);
        ledger.change(ids, lines, (tallies, booked) => book(tallies, booked, actuals), undefined);
      }
      await ledger.flush();
    });
  }

  private actualsOf(
    usage: UsageRecordedV1,
    reservation: BudgetReservationDoc | undefined,
  ): Actuals {
    const tokens = usage.inputTokens + usage.outputTokens;
    if (usage.kind === 'model') {
      const model = usage.model ?? reservation?.model;
      const price = model === undefined ? undefined : priceFor(this.deps.prices, model);
      const priced = price ? priceOf(price, usage) : 0;
      return modelActuals(tokens, priced, usage.usdMicros);
    }
    return actionActuals(reservation?.amountUsdMicros ?? 0, usage.usdMicros, tokens);
  }
}

function further(actuals: Actuals, doc: BudgetReservationDoc): Actuals {
  if (doc.kind === 'model') return actuals;
  return { ...actuals, tool_calls: 0, count: 0, amount: 0 };
}

/** The reservation is named by id, or by request id (they are the same), or by the action it funded. */
function reservationIdOf(usage: UsageRecordedV1): string | undefined {
  if (usage.reservationId) return usage.reservationId;
  if (usage.requestId) return usage.requestId;
  if (usage.kind === 'tool' && usage.actionId) return actionRequestId(usage.actionId);
  return undefined;
}

/** Usage without a reservation counts against the task's and the day's spend, uncapped here (it already happened). */
function unreservedLines(usage: UsageRecordedV1): CapLine[] {
  const first: CapLine =
    usage.kind === 'model'
      ? { cap: CAP.taskTokens, scope: 'task', measure: 'tokens', amount: 0 }
      : { cap: CAP.taskToolCalls, scope: 'task', measure: 'tool_calls', amount: 0 };
  return [
    first,
    { cap: CAP.taskUsd, scope: 'task', measure: 'usd', amount: 0 },
    { cap: CAP.tenantDayUsd, scope: 'tenant_day', measure: 'usd', amount: 0 },
  ];
}
