import type { Store } from '@leash/store';
import { leashMetrics } from '@leash/telemetry';
import { CAP } from './budget-rules';
import { dayCounterId } from './ledger-book';
import { BudgetCounter, BudgetReservation } from './ledger.aggregates';

/**
 * Sets the tenant's spend and cap gauges from its day counter, found through
 * the reservation a budget event touched. Called by the consumers after the
 * use case, so the gauges move as the ledger does; a failure only leaves the
 * gauges stale and never fails the delivery.
 */
export async function refreshTenantGauges(
  store: Store,
  reservationId: string | undefined,
): Promise<void> {
  if (!reservationId) return;
  try {
    const reservation = await store.repository(BudgetReservation).get(reservationId);
    if (!reservation) return;
    const { tenantId, day } = reservation.doc;
    const counter = await store.repository(BudgetCounter).get(dayCounterId(tenantId, day));
    if (!counter) return;
    const metrics = leashMetrics();
    const { tallies, limits } = counter.doc;
    metrics.tenantSpend.set(
      { tenant: tenantId },
      (tallies[CAP.tenantDayUsd]?.settled ?? 0) / 1_000_000,
    );
    for (const [cap, limit] of Object.entries(limits)) {
      const tally = tallies[cap];
      if (!tally || limit <= 0) continue;
      metrics.capUsed.set({ tenant: tenantId, cap }, (tally.reserved + tally.settled) / limit);
    }
  } catch {
    // Gauges are best effort; the ledger itself is the truth.
  }
}
