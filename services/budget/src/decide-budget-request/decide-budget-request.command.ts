import type { Envelope } from '@leash/contracts';

/** One reservation request from a tenant's ordered stream. */
export interface DecideBudgetRequestCommand {
  readonly event: Envelope<'leash.budget.requested.v1'>;
  /** The delivery attempt (1 first): a model request whose task is not yet known is retried a little. */
  readonly attempt?: number;
}
