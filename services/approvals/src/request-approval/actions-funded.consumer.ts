import {
  Controller,
  Inject,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { AnyEnvelope } from '@leash/contracts';
import { STORE } from '@leash/service-runtime';
import type { Store } from '@leash/store';
import { leashMetrics } from '@leash/telemetry';
import { approvalsWaiting } from '../gate/approval-gauges';
import { tracedRequestApproval } from '../gate/approval-spans';
import { RequestApprovalUseCase } from './request-approval.usecase';

@Controller()
export class ActionsFundedConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private stopGauges: (() => void) | undefined;

  constructor(
    private readonly requestApproval: RequestApprovalUseCase,
    @Inject(STORE) private readonly store: Store,
  ) {}

  // The approvals gauges are read from the store at scrape time while this service runs.
  onApplicationBootstrap(): void {
    this.stopGauges = leashMetrics().addApprovalsSource(() => approvalsWaiting(this.store));
  }

  onApplicationShutdown(): void {
    this.stopGauges?.();
  }

  @EventPattern('actions.funded')
  async onFunded(@Payload() event: AnyEnvelope): Promise<void> {
    if (event.type !== 'leash.actions.funded.v1') return;
    await tracedRequestApproval(this.store, event, () => this.requestApproval.execute({ event }));
  }
}
