import { transactionRetryingConflicts } from '@leash/store';
import { chargeInFull } from '../ledger/budget-rules';
import { closeReservation } from '../ledger/ledger-book';
import { systemClock, utcIso, type Clock } from '@leash/clock';
import { BUDGET_SOURCE, type LedgerDeps } from '../ledger/ledger';
import { BudgetReservation } from '../ledger/ledger.aggregates';
import type { ChargeExpiredReservationsCommand } from './charge-expired-reservations.command';

const DEFAULT_BATCH = 500;

/**
 * A reservation nobody settled by its deadline is charged in full: the call
 * may have run and its usage been lost, and a cap must not forget spend it
 * cannot rule out. Each reservation is charged in its own transaction, after
 * checking again that it is still open, so a settlement that lands first wins.
 */
export class ChargeExpiredReservationsUseCase {
  private readonly clock: Clock;
  private readonly source: string;

  constructor(private readonly deps: Pick<LedgerDeps, 'store' | 'clock' | 'source'>) {
    this.clock = deps.clock ?? systemClock;
    this.source = deps.source ?? BUDGET_SOURCE;
  }

  /** Returns how many reservations were charged. */
  async execute(command: ChargeExpiredReservationsCommand = {}): Promise<number> {
    const now = this.clock.now();
    const due = await this.deps.store.repository(BudgetReservation).find({
      where: { status: 'reserved' },
      range: { field: 'deadlineAt', lt: utcIso(now) },
      orderBy: 'deadlineAt',
      limit: command.limit ?? DEFAULT_BATCH,
    });
    let charged = 0;
    for (const candidate of due) {
      const done = await transactionRetryingConflicts(this.deps.store, async (tx) => {
        const reservations = tx.repository(BudgetReservation);
        const current = await reservations.get(candidate.id);
        if (!current || current.doc.status !== 'reserved') return false;
        await closeReservation(
          tx,
          this.source,
          now,
          current,
          chargeInFull(current.doc.lines),
          'charged',
        );
        return true;
      });
      if (done) charged += 1;
    }
    return charged;
  }
}
