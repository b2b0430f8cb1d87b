import { createEnvelope } from '@leash/contracts';
import { transactionRetryingConflicts } from '@leash/store';
import { dayEnd, dayKey, isTimeZone } from '../ledger/day-key';
import { systemClock, utcIso, type Clock } from '@leash/clock';
import { BUDGET_SOURCE, tenantDayOf, type LedgerDeps } from '../ledger/ledger';
import {
  DEFAULT_TIME_ZONE,
  TenantSettings,
  type TenantSettingsDoc,
} from '../ledger/ledger.aggregates';
import type { SetTenantTimeZoneCommand } from './set-tenant-time-zone.command';

/** What a change of zone did: the zone and day that keep counting, and when the new zone takes over. */
export interface TimeZoneChange {
  readonly from: string;
  readonly to: string;
  readonly countingDay: string;
  readonly effectiveAt: string;
}

/**
 * Sets where a tenant's days start. A change must never let spend pass a
 * daily cap, as a fresh day opened by moving midnight would (a full day's
 * cap, then a zone whose date is still "yesterday", or already "tomorrow").
 * So the day counting now keeps counting until the later of its own end and
 * the new zone's next midnight; only then do days start in the new zone.
 * The change is audited with who made it (on budget.alarms, in the same
 * transaction).
 */
export class SetTenantTimeZoneUseCase {
  private readonly clock: Clock;
  private readonly source: string;

  constructor(private readonly deps: Pick<LedgerDeps, 'store' | 'clock' | 'source'>) {
    this.clock = deps.clock ?? systemClock;
    this.source = deps.source ?? BUDGET_SOURCE;
  }

  async execute({
    tenantId,
    timeZone,
    changedBy,
  }: SetTenantTimeZoneCommand): Promise<TimeZoneChange | undefined> {
    if (!isTimeZone(timeZone)) {
      throw new RangeError(`"${timeZone}" is not an IANA time zone (e.g. Europe/Berlin)`);
    }
    if (!changedBy.trim()) {
      throw new RangeError('a time zone change names who makes it (changedBy)');
    }
    const now = this.clock.now();
    return transactionRetryingConflicts(this.deps.store, async (tx) => {
      const settings = tx.repository(TenantSettings);
      const stored = await settings.get(tenantId);
      // Already the zone, or already pending: nothing to change (a repeat must not delay it).
      if ((stored?.doc.timeZone ?? DEFAULT_TIME_ZONE) === timeZone) return undefined;
      const current = tenantDayOf(stored?.doc, now);
      const effectiveAt = Math.max(
        dayEnd(current.day, now, current.timeZone),
        dayEnd(dayKey(now, timeZone), now, timeZone),
      );
      const doc: TenantSettingsDoc = {
        tenantId,
        timeZone,
        previousTimeZone: current.timeZone,
        countingDay: current.day,
        effectiveAt: utcIso(effectiveAt),
        changedBy,
        changedAt: utcIso(now),
      };
      if (stored) await settings.update(doc, stored.version);
      else await settings.insert(doc);
      const change: TimeZoneChange = {
        from: current.timeZone,
        to: timeZone,
        countingDay: current.day,
        effectiveAt: utcIso(effectiveAt),
      };
      await tx.outbox.enqueue(
        'budget.alarms',
        createEnvelope(
          'leash.budget.time_zone_changed.v1',
          { ...change, changedBy, changedAt: utcIso(now) },
          { source: this.source, tenantId, time: utcIso(now) },
        ),
      );
      return change;
    });
  }
}
