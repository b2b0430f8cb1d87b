import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { STORE } from '@leash/service-runtime';
import type { Store } from '@leash/store';
import { leashMetrics, type TenantBudget } from '@leash/telemetry';
import { CAP } from './budget-rules';
import { dayCounterId } from './ledger-book';
import { BudgetCounter, BudgetReservation } from './ledger.aggregates';

/**
 * The tenants' spend and cap gauges, read from the ledger at scrape time.
 * A consumer only notes which reservation of a tenant its event touched
 * (nothing read on the event's path); a scrape reads, for each tenant
 * noted, that reservation's day counter. A failed read leaves that tenant
 * out of the scrape; the ledger itself is the truth.
 */
@Injectable()
export class TenantGauges implements OnApplicationBootstrap, OnApplicationShutdown {
  /** The newest reservation an event of each tenant touched. */
  private readonly touched = new Map<string, string>();
  private stopSource: (() => void) | undefined;

  constructor(@Inject(STORE) private readonly store: Store) {}

  onApplicationBootstrap(): void {
    this.stopSource = leashMetrics().addTenantBudgetSource(() => this.read());
  }

  onApplicationShutdown(): void {
    this.stopSource?.();
  }

  /** The tenant's gauges follow the day of this reservation from the next scrape on. */
  note(tenantId: string | undefined, reservationId: string | undefined): void {
    if (tenantId === undefined || reservationId === undefined) return;
    this.touched.delete(tenantId); // re-inserted last: a Map keeps insertion order
    this.touched.set(tenantId, reservationId);
  }

  async read(): Promise<readonly TenantBudget[]> {
    const budgets: TenantBudget[] = [];
    for (const [tenant, reservationId] of this.touched) {
      const budget = await this.tenantBudget(reservationId).catch(() => undefined);
      if (budget) budgets.push({ tenant, ...budget });
    }
    return budgets;
  }

  private async tenantBudget(
    reservationId: string,
  ): Promise<Omit<TenantBudget, 'tenant'> | undefined> {
    const reservation = await this.store.repository(BudgetReservation).get(reservationId);
    if (!reservation) return undefined;
    const { tenantId, day } = reservation.doc;
    const counter = await this.store.repository(BudgetCounter).get(dayCounterId(tenantId, day));
    if (!counter) return undefined;
    const { tallies, limits } = counter.doc;
    const capsUsed: Record<string, number> = {};
    for (const [cap, limit] of Object.entries(limits)) {
      const tally = tallies[cap];
      if (!tally || limit <= 0) continue;
      capsUsed[cap] = (tally.reserved + tally.settled) / limit;
    }
    return { spendUsd: (tallies[CAP.tenantDayUsd]?.settled ?? 0) / 1_000_000, capsUsed };
  }
}
