import { IntervalSweeper, type IntervalSweeperOptions } from '@leash/clock';
import type { ExpireApprovalsUseCase, ExpiryReport } from './expire-approvals.usecase';

export type ApprovalSweeperOptions = IntervalSweeperOptions<ExpiryReport>;

/** Denies or escalates expired approval requests on an interval. */
export class ApprovalSweeper extends IntervalSweeper<ExpiryReport> {
  constructor(expire: ExpireApprovalsUseCase, options: ApprovalSweeperOptions) {
    super(() => expire.execute(), options);
  }
}
