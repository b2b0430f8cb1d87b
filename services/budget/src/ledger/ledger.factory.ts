import { GateSigner, GateVerifier } from '@leash/signing';
import { keyFrom } from '@leash/config';
import type { ProfileSource } from '@leash/agents';
import type { KillSwitch } from '@leash/kill-switch';
import type { Store } from '@leash/store';
import { ChargeExpiredReservationsUseCase } from '../charge-expired-reservations/charge-expired-reservations.usecase';
import { DecideBudgetRequestUseCase } from '../decide-budget-request/decide-budget-request.usecase';
import { FundDecidedActionUseCase } from '../fund-decided-action/fund-decided-action.usecase';
import { RegisterTaskUseCase } from '../register-task/register-task.usecase';
import { ReleaseUnrunActionUseCase } from '../release-unrun-action/release-unrun-action.usecase';
import { SetTenantTimeZoneUseCase } from '../set-tenant-time-zone/set-tenant-time-zone.usecase';
import { SettleUsageUseCase } from '../settle-usage/settle-usage.usecase';
import type { BudgetLedgerConfig } from './budget.config';
import { systemClock, type Clock } from '@leash/clock';
import { type LedgerDeps } from './ledger';

/** Every use case of the ledger, built without Nest (tests, the benchmark, the Nest module). */
export interface LedgerUseCases {
  readonly fundDecidedAction: FundDecidedActionUseCase;
  readonly decideBudgetRequest: DecideBudgetRequestUseCase;
  readonly settleUsage: SettleUsageUseCase;
  readonly releaseUnrunAction: ReleaseUnrunActionUseCase;
  readonly chargeExpiredReservations: ChargeExpiredReservationsUseCase;
  readonly registerTask: RegisterTaskUseCase;
  readonly setTenantTimeZone: SetTenantTimeZoneUseCase;
}

export function createLedgerUseCases(deps: LedgerDeps): LedgerUseCases {
  return {
    fundDecidedAction: new FundDecidedActionUseCase(deps),
    decideBudgetRequest: new DecideBudgetRequestUseCase(deps),
    settleUsage: new SettleUsageUseCase(deps),
    releaseUnrunAction: new ReleaseUnrunActionUseCase(deps),
    chargeExpiredReservations: new ChargeExpiredReservationsUseCase(deps),
    registerTask: new RegisterTaskUseCase(deps),
    setTenantTimeZone: new SetTenantTimeZoneUseCase(deps),
  };
}

export interface LedgerDepsFromConfig {
  readonly config: Pick<
    BudgetLedgerConfig,
    | 'LEASH_BUDGET_SIGNING_KEY'
    | 'LEASH_BUDGET_SIGNING_KEY_FILE'
    | 'LEASH_POLICY_PUBLIC_KEYS'
    | 'LEASH_POLICY_PUBLIC_KEYS_FILE'
    | 'LEASH_APPROVALS_PUBLIC_KEYS'
    | 'LEASH_APPROVALS_PUBLIC_KEYS_FILE'
    | 'LEASH_MODEL_PRICES'
    | 'LEASH_BUDGET_SETTLE_GRACE_MS'
  >;
  readonly store: Store;
  readonly profiles: ProfileSource;
  readonly clock?: Clock;
  readonly source?: string;
  readonly killSwitch?: Pick<KillSwitch, 'covering'>;
}

/** The ledger's dependencies from the parsed config and the engines. */
export function ledgerDeps(options: LedgerDepsFromConfig): LedgerDeps {
  const clock = options.clock ?? systemClock;
  return {
    store: options.store,
    profiles: options.profiles,
    signer: new GateSigner(
      'budget',
      keyFrom(
        options.config.LEASH_BUDGET_SIGNING_KEY,
        options.config.LEASH_BUDGET_SIGNING_KEY_FILE,
        'LEASH_BUDGET_SIGNING_KEY',
      ),
    ),
    verifier: new GateVerifier(
      {
        policy: keyFrom(
          options.config.LEASH_POLICY_PUBLIC_KEYS,
          options.config.LEASH_POLICY_PUBLIC_KEYS_FILE,
          'LEASH_POLICY_PUBLIC_KEYS',
        ),
        approvals: keyFrom(
          options.config.LEASH_APPROVALS_PUBLIC_KEYS,
          options.config.LEASH_APPROVALS_PUBLIC_KEYS_FILE,
          'LEASH_APPROVALS_PUBLIC_KEYS',
        ),
      },
      { now: () => clock.now() },
    ),
    prices: options.config.LEASH_MODEL_PRICES,
    clock,
    settleGraceMs: options.config.LEASH_BUDGET_SETTLE_GRACE_MS,
    ...(options.source !== undefined ? { source: options.source } : {}),
    ...(options.killSwitch ? { killSwitch: options.killSwitch } : {}),
  };
}
