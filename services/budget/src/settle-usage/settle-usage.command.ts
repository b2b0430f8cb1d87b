import type { Envelope } from '@leash/contracts';

/** Actual usage of a model call or a tool run, reported after it happened. */
export interface SettleUsageCommand {
  readonly event: Envelope<'leash.usage.recorded.v1'>;
}
