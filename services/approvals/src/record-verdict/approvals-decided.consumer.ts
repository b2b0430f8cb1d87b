import { Controller, Inject, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { AnyEnvelope } from '@leash/contracts';
import { STORE } from '@leash/service-runtime';
import type { Store } from '@leash/store';
import { tracedRecordVerdict } from '../gate/approval-spans';
import { RecordVerdictUseCase } from './record-verdict.usecase';

@Controller()
export class ApprovalsDecidedConsumer {
  private readonly logger = new Logger('approvals:verdicts');

  constructor(
    private readonly recordVerdict: RecordVerdictUseCase,
    @Inject(STORE) private readonly store: Store,
  ) {}

  @EventPattern('approvals.decided')
  async onDecided(@Payload() event: AnyEnvelope): Promise<void> {
    if (event.type !== 'leash.approvals.decided.v1') return;
    const result = await tracedRecordVerdict(this.store, event, () =>
      this.recordVerdict.execute({ event }),
    );
    // Refusals are audited in the store; the log is for whoever is watching the service.
    if (result.outcome === 'refused') {
      this.logger.warn(
        `refused ${event.data.verdict} by ${event.data.reviewer} on ${event.data.approvalId} (${result.refusal}): ${result.reason}`,
      );
    }
  }
}
