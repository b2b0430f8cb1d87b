import { z } from 'zod';
import { KillScope, Timestamp } from '@leash/contracts';
import { defineAggregate } from '@leash/store';

/**
 * A kill as persisted. One document per kill command (id: its commandId),
 * shared by every service and instance that applies it: whoever records it
 * first inserts it, the others find it there. `active` -> `lifted` is the
 * only transition, so a service replaying an old kill never revives one
 * a resume already lifted.
 */
export const KillRecord = z.object({
  commandId: z.string().min(1),
  scope: KillScope,
  reason: z.string().min(1),
  rollback: z.boolean(),
  issuedBy: z.string().min(1),
  issuedAt: Timestamp,
  status: z.enum(['active', 'lifted']),
  /** `<service>/<instance>` that recorded it first, and when. */
  recordedBy: z.string().min(1),
  recordedAt: Timestamp,
  /** The resume that lifted it. */
  liftedBy: z.string().min(1).optional(),
  liftedAt: Timestamp.optional(),
});
export type KillRecord = z.infer<typeof KillRecord>;

/** Never rename: it names the table / collection that holds live kills. */
export const KILLS = defineAggregate({
  name: 'kill',
  schema: KillRecord,
  id: (record) => record.commandId,
  indexes: ['status'],
});
