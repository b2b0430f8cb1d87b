import { readFileSync } from 'node:fs';
import {
  Inject,
  Injectable,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import { AgentCatalog, type ProfileSource } from '@leash/agents';
import { trustedFrontEnds } from '../inbox/inbox-key';
import type { InboxConfig } from '../inbox/inbox.config';
import { keyFrom } from '@leash/config';
import { CONFIG } from '@leash/config/nest';
import { STORE } from '@leash/service-runtime';
import { KILL_SWITCH, type KillSwitch } from '@leash/kill-switch';
import type { Store } from '@leash/store';
import { ApprovalSweeper } from '../expire-approvals/approval-sweeper';
import { ExpireApprovalsUseCase } from '../expire-approvals/expire-approvals.usecase';
import { ListPendingApprovalsUseCase } from '../list-pending-approvals/list-pending-approvals.usecase';
import { ApprovalsDecidedConsumer } from '../record-verdict/approvals-decided.consumer';
import { RecordVerdictUseCase } from '../record-verdict/record-verdict.usecase';
import { CloseTaskApprovalsUseCase } from '../close-task-approvals/close-task-approvals.usecase';
import { TasksFinishedConsumer } from '../close-task-approvals/tasks-finished.consumer';
import { ActionsFundedConsumer } from '../request-approval/actions-funded.consumer';
import { RequestApprovalUseCase } from '../request-approval/request-approval.usecase';
import { parseReviewers, type Reviewer } from '../reviewers/reviewer';
import { ReviewerDirectory } from '../reviewers/reviewer-directory';
import type { TrustedFrontEnd } from '../reviewers/trusted-front-end';
import type { Clock } from '@leash/clock';
import { createApprovalGate, type ApprovalGate } from './approval-gate.factory';
import type { ApprovalsGateConfig } from './approvals.config';

/** Injection token of the wired ApprovalGate. */
export const APPROVAL_GATE = Symbol('leash:approval-gate');

export interface ApprovalGateModuleOptions {
  /** Where approval chains come from. Default: the store-backed AgentCatalog. */
  readonly profiles?: (store: Store) => ProfileSource;
  readonly clock?: Clock;
}

/** The reviewers the config lists, inline and from a file. Throws at start-up on a bad list. */
export function configuredReviewers(config: ApprovalsGateConfig): Reviewer[] {
  const listed: Reviewer[] = [...((config.LEASH_REVIEWERS ?? []) as Reviewer[])];
  const file = config.LEASH_REVIEWERS_FILE;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`LEASH_REVIEWERS_FILE ${file}: cannot read it: ${(error as Error).message}`);
    }
    listed.push(...parseReviewers(text, `LEASH_REVIEWERS_FILE ${file}`));
  }
  return listed;
}

/** Seeds the reviewer directory before the consumers start. */
@Injectable()
class ReviewerSeeder implements OnModuleInit {
  private readonly logger = new Logger('approvals:reviewers');

  constructor(
    private readonly directory: ReviewerDirectory,
    @Inject(CONFIG) private readonly config: ApprovalsGateConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    const seeded = await this.directory.seed(configuredReviewers(this.config));
    if (seeded > 0) this.logger.log(`put ${seeded} reviewers in the directory`);
  }
}

/** Starts the expiry sweeper with the app and stops it before the engines close. */
@Injectable()
class ApprovalSweeperHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(private readonly sweeper: ApprovalSweeper) {}

  onApplicationBootstrap(): void {
    this.sweeper.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.sweeper.stop();
  }
}

/**
 * The approval gate: consumers of actions.funded, approvals.decided and
 * tasks.finished, the use cases behind them, the expiry sweeper and the reviewer directory.
 * Publishes through the store's outbox. Needs CONFIG (with
 * APPROVALS_GATE_VARIABLES) and STORE in the container, as startService provides.
 */
@Module({})
export class ApprovalGateModule {
  static forRoot(options: ApprovalGateModuleOptions = {}): DynamicModule {
    const logger = new Logger('approvals:sweeper');
    return {
      module: ApprovalGateModule,
      controllers: [ActionsFundedConsumer, ApprovalsDecidedConsumer, TasksFinishedConsumer],
      providers: [
        {
          provide: APPROVAL_GATE,
          // The service's ControlModule provides the kill switch (global); the module alone has none.
          inject: [STORE, CONFIG, { token: KILL_SWITCH, optional: true }],
          useFactory: (
            store: Store,
            config: ApprovalsGateConfig,
            killSwitch: KillSwitch | undefined,
          ): ApprovalGate =>
            createApprovalGate({
              store,
              profiles: options.profiles?.(store) ?? new AgentCatalog(store),
              signingKey: keyFrom(
                config.LEASH_APPROVALS_SIGNING_KEY,
                config.LEASH_APPROVALS_SIGNING_KEY_FILE,
                'LEASH_APPROVALS_SIGNING_KEY',
              ),
              publicKeys: {
                policy: keyFrom(
                  config.LEASH_POLICY_PUBLIC_KEYS,
                  config.LEASH_POLICY_PUBLIC_KEYS_FILE,
                  'LEASH_POLICY_PUBLIC_KEYS',
                ),
                budget: keyFrom(
                  config.LEASH_BUDGET_PUBLIC_KEYS,
                  config.LEASH_BUDGET_PUBLIC_KEYS_FILE,
                  'LEASH_BUDGET_PUBLIC_KEYS',
                ),
              },
              frontEnds: trustedFrontEnds(
                (config.LEASH_REVIEWER_FRONT_ENDS ?? []) as TrustedFrontEnd[],
                config as Partial<InboxConfig>,
              ),
              approvalValidityMs: config.LEASH_APPROVAL_VALIDITY_MS,
              ...(options.clock ? { clock: options.clock } : {}),
              ...(killSwitch ? { killSwitch } : {}),
            }),
        },
        {
          provide: RequestApprovalUseCase,
          inject: [APPROVAL_GATE],
          useFactory: (gate: ApprovalGate) => gate.requestApproval,
        },
        {
          provide: RecordVerdictUseCase,
          inject: [APPROVAL_GATE],
          useFactory: (gate: ApprovalGate) => gate.recordVerdict,
        },
        {
          provide: ExpireApprovalsUseCase,
          inject: [APPROVAL_GATE],
          useFactory: (gate: ApprovalGate) => gate.expireApprovals,
        },
        {
          provide: CloseTaskApprovalsUseCase,
          inject: [APPROVAL_GATE],
          useFactory: (gate: ApprovalGate) => gate.closeTaskApprovals,
        },
        {
          provide: ListPendingApprovalsUseCase,
          inject: [APPROVAL_GATE],
          useFactory: (gate: ApprovalGate) => gate.listPendingApprovals,
        },
        {
          provide: ReviewerDirectory,
          inject: [APPROVAL_GATE],
          useFactory: (gate: ApprovalGate) => gate.directory,
        },
        {
          provide: ApprovalSweeper,
          inject: [ExpireApprovalsUseCase, CONFIG],
          useFactory: (expire: ExpireApprovalsUseCase, config: ApprovalsGateConfig) =>
            new ApprovalSweeper(expire, {
              intervalMs: config.LEASH_APPROVAL_SWEEP_INTERVAL_MS,
              onError: (error) => logger.error(`expiry sweep failed: ${String(error)}`),
              onSwept: (report) => {
                const changed = report.expired.length + report.escalated.length;
                if (changed > 0) {
                  logger.log(
                    `expired ${report.expired.length}, escalated ${report.escalated.length}`,
                  );
                }
              },
            }),
        },
        ReviewerSeeder,
        ApprovalSweeperHost,
      ],
      exports: [
        APPROVAL_GATE,
        RequestApprovalUseCase,
        RecordVerdictUseCase,
        ExpireApprovalsUseCase,
        ListPendingApprovalsUseCase,
        ReviewerDirectory,
        ApprovalSweeper,
      ],
    };
  }
}
