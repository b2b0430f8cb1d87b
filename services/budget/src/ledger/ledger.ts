import type { ProfileSource } from '@leash/agents';
import type { Clock } from '@leash/clock';
import type { KillSwitch } from '@leash/kill-switch';
import type { GateSigner, GateVerifier } from '@leash/signing';
import type { Store, Transaction } from '@leash/store';
import type { PriceTable } from './price-table';
import { dayKey } from './day-key';
import { DEFAULT_TIME_ZONE, TenantSettings, type TenantSettingsDoc } from './ledger.aggregates';

/** What the ledger's use cases are built from; every side effect goes through one of these. */
export interface LedgerDeps {
  readonly store: Store;
  readonly profiles: ProfileSource;
  /** Signs grants with the budget gate's private key (LEASH_BUDGET_SIGNING_KEY). */
  readonly signer: GateSigner;
  /**
   * Checks policy decisions before anything is reserved for them, and the
   * approvals gate's signed rejections before a reservation is freed, with
   * those gates' public keys (LEASH_POLICY_PUBLIC_KEYS, LEASH_APPROVALS_PUBLIC_KEYS).
   */
  readonly verifier: GateVerifier;
  readonly prices: PriceTable;
  readonly clock?: Clock;
  /** The CloudEvents source of what the ledger publishes. Default `budget`. */
  readonly source?: string;
  /** How long after a grant expires its reservation waits for usage before it is charged. */
  readonly settleGraceMs?: number;
  /** The service's kill switch: nothing is reserved or funded in a killed scope. */
  readonly killSwitch?: Pick<KillSwitch, 'covering'>;
}

export const BUDGET_SOURCE = 'budget';
export const DEFAULT_SETTLE_GRACE_MS = 300_000;

/** Inbox consumer names: one per handler, so each dedupes the events it has processed. */
export const CONSUMERS = {
  actionsDecided: 'budget:actions.decided',
  budgetRequests: 'budget:budget.requests',
  usageRecorded: 'budget:usage.recorded',
  tasksRequested: 'budget:tasks.requested',
  actionsRejected: 'budget:actions.rejected',
} as const;

/** The tenant's day at an instant: the counter it books on, and the zone that day is in. */
export interface TenantDay {
  readonly day: string;
  readonly timeZone: string;
}

/** The tenant's day at `at`, in its time zone (UTC until one is set). Reads through `tx` when given. */
export async function tenantDay(
  store: Store | Transaction,
  tenantId: string,
  at: number,
): Promise<TenantDay> {
  const settings = (await store.repository(TenantSettings).get(tenantId))?.doc;
  return tenantDayOf(settings, at);
}

/** As tenantDay, from settings already read: a pending change keeps the day that was counting. */
export function tenantDayOf(settings: TenantSettingsDoc | undefined, at: number): TenantDay {
  if (!settings) return { day: dayKey(at, DEFAULT_TIME_ZONE), timeZone: DEFAULT_TIME_ZONE };
  const { effectiveAt, previousTimeZone, countingDay } = settings;
  if (
    effectiveAt !== undefined &&
    previousTimeZone !== undefined &&
    countingDay !== undefined &&
    at < Date.parse(effectiveAt)
  ) {
    return { day: countingDay, timeZone: previousTimeZone };
  }
  return { day: dayKey(at, settings.timeZone), timeZone: settings.timeZone };
}

/** The zone the tenant's day is counted in at `at` (UTC until one is set). */
export async function tenantTimeZone(
  store: Store | Transaction,
  tenantId: string,
  at: number,
): Promise<string> {
  return (await tenantDay(store, tenantId, at)).timeZone;
}
