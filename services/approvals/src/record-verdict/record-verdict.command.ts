import type { Envelope } from '@leash/contracts';

/** A reviewer's verdict on one approval request. */
export interface RecordVerdictCommand {
  readonly event: Envelope<'leash.approvals.decided.v1'>;
}
