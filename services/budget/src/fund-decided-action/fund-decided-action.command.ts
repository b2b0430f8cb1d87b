import type { Envelope } from '@leash/contracts';

/** An allowed or approve-routed policy decision, to be turned into a reservation request. */
export interface FundDecidedActionCommand {
  readonly event: Envelope<'leash.actions.decided.v1'>;
}
