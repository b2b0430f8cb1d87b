import type { Envelope } from '@leash/contracts';

/** A new task: budget remembers its agent, since model requests name only the task. */
export interface RegisterTaskCommand {
  readonly event: Envelope<'leash.tasks.requested.v1'>;
}
