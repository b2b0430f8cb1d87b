import type { Envelope } from '@leash/contracts';

/** A funded action; those routed to `approve` wait for reviewers. */
export interface RequestApprovalCommand {
  readonly event: Envelope<'leash.actions.funded.v1'>;
}
