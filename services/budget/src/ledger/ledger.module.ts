import {
  Injectable,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { AgentCatalog, type ProfileSource } from '@leash/agents';
import { CONFIG } from '@leash/config/nest';
import { STORE } from '@leash/service-runtime';
import { KILL_SWITCH, type KillSwitch } from '@leash/kill-switch';
import type { Store } from '@leash/store';
import { ChargeExpiredReservationsUseCase } from '../charge-expired-reservations/charge-expired-reservations.usecase';
import { ReservationSweeper } from '../charge-expired-reservations/reservation-sweeper';
import { TenantGauges } from './budget-gauges';
import { BudgetRequestsConsumer } from '../decide-budget-request/budget-requests.consumer';
import { DecideBudgetRequestUseCase } from '../decide-budget-request/decide-budget-request.usecase';
import { ActionsDecidedConsumer } from '../fund-decided-action/actions-decided.consumer';
import { FundDecidedActionUseCase } from '../fund-decided-action/fund-decided-action.usecase';
import { RegisterTaskUseCase } from '../register-task/register-task.usecase';
import { TasksRequestedConsumer } from '../register-task/tasks-requested.consumer';
import { SetTenantTimeZoneUseCase } from '../set-tenant-time-zone/set-tenant-time-zone.usecase';
import { ActionsRejectedConsumer } from '../release-unrun-action/actions-rejected.consumer';
import { ReleaseUnrunActionUseCase } from '../release-unrun-action/release-unrun-action.usecase';
import { SettleUsageUseCase } from '../settle-usage/settle-usage.usecase';
import { UsageRecordedConsumer } from '../settle-usage/usage-recorded.consumer';
import type { BudgetLedgerConfig } from './budget.config';
import type { Clock } from '@leash/clock';
import type { LedgerDeps } from './ledger';
import { ledgerDeps, type LedgerUseCases } from './ledger.factory';

export const LEDGER_DEPS = Symbol('budget:ledger-deps');

export interface LedgerModuleOptions {
  /** Where caps come from. Default: the store-backed AgentCatalog. */
  readonly profiles?: (store: Store) => ProfileSource;
  readonly clock?: Clock;
}

/** Starts the deadline sweeper with the app and stops it before the engines close. */
@Injectable()
class ReservationSweeperHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(private readonly sweeper: ReservationSweeper) {}

  onApplicationBootstrap(): void {
    this.sweeper.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.sweeper.stop();
  }
}

/** Each use case's token, and its name in LedgerUseCases. */
const USE_CASES = [
  [FundDecidedActionUseCase, 'fundDecidedAction'],
  [DecideBudgetRequestUseCase, 'decideBudgetRequest'],
  [SettleUsageUseCase, 'settleUsage'],
  [ReleaseUnrunActionUseCase, 'releaseUnrunAction'],
  [ChargeExpiredReservationsUseCase, 'chargeExpiredReservations'],
  [RegisterTaskUseCase, 'registerTask'],
  [SetTenantTimeZoneUseCase, 'setTenantTimeZone'],
] as const satisfies readonly (readonly [unknown, keyof LedgerUseCases])[];

const CONSUMERS = [
  ActionsDecidedConsumer,
  BudgetRequestsConsumer,
  UsageRecordedConsumer,
  TasksRequestedConsumer,
  ActionsRejectedConsumer,
];
const USE_CASE_TOKENS = USE_CASES.map(([token]) => token);

/**
 * The budget ledger: consumers of actions.decided, budget.requests,
 * usage.recorded, tasks.requested and actions.rejected, the use cases behind them, and the
 * deadline sweeper. Needs CONFIG (with BUDGET_LEDGER_ENV) and STORE in the
 * container, as startService provides.
 */
@Module({})
export class LedgerModule {
  static forRoot(options: LedgerModuleOptions = {}): DynamicModule {
    const logger = new Logger('budget:ledger');
    return {
      module: LedgerModule,
      controllers: CONSUMERS,
      providers: [
        {
          provide: LEDGER_DEPS,
          // The service's ControlModule provides the kill switch (global); the module alone has none.
          inject: [STORE, CONFIG, { token: KILL_SWITCH, optional: true }],
          useFactory: (
            store: Store,
            config: BudgetLedgerConfig,
            killSwitch: KillSwitch | undefined,
          ): LedgerDeps =>
            ledgerDeps({
              config,
              store,
              profiles: options.profiles?.(store) ?? new AgentCatalog(store),
              ...(options.clock ? { clock: options.clock } : {}),
              ...(killSwitch ? { killSwitch } : {}),
            }),
        },
        ...USE_CASE_TOKENS.map((useCase) => ({
          provide: useCase,
          inject: [LEDGER_DEPS],
          useFactory: (deps: LedgerDeps) => new useCase(deps),
        })),
        {
          provide: ReservationSweeper,
          inject: [ChargeExpiredReservationsUseCase, CONFIG],
          useFactory: (charge: ChargeExpiredReservationsUseCase, config: BudgetLedgerConfig) =>
            new ReservationSweeper(charge, {
              intervalMs: config.LEASH_BUDGET_SWEEP_INTERVAL_MS,
              onError: (error) => logger.error(`deadline sweep failed: ${String(error)}`),
            }),
        },
        ReservationSweeperHost,
        TenantGauges,
      ],
      exports: [...USE_CASE_TOKENS, ReservationSweeper],
    };
  }

  /**
   * The same consumers over use cases the caller built (specs, the benchmark),
   * with the store their gauges read: run it with listenOnBus. No sweeper.
   */
  static forUseCases(useCases: LedgerUseCases, store: Store): DynamicModule {
    return {
      module: LedgerModule,
      controllers: CONSUMERS,
      providers: [
        { provide: STORE, useValue: store },
        ...USE_CASES.map(([token, name]) => ({ provide: token, useValue: useCases[name] })),
        TenantGauges,
      ],
      exports: USE_CASE_TOKENS,
    };
  }
}
