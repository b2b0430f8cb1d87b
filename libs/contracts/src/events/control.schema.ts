import { z } from 'zod';
import { KillScope, ServiceName, Timestamp } from './common.schema';

export const KillV1 = z.object({
  commandId: z.string().min(1),
  scope: KillScope,
  reason: z.string().min(1).max(2_000),
  rollback: z
    .boolean()
    .default(false)
    .describe('Undo completed write actions that define a compensation.'),
  issuedBy: z.string().min(1),
  issuedAt: Timestamp,
});
export type KillV1 = z.infer<typeof KillV1>;

export const ResumeV1 = z.object({
  commandId: z.string().min(1),
  scope: KillScope,
  reason: z.string().min(1).max(2_000),
  issuedBy: z.string().min(1),
  issuedAt: Timestamp,
});
export type ResumeV1 = z.infer<typeof ResumeV1>;

export const ControlAckV1 = z.object({
  commandId: z.string().min(1).describe('The kill or resume being acknowledged.'),
  command: z.enum(['kill', 'resume']),
  service: ServiceName,
  instance: z.string().min(1),
  aborted: z.number().int().nonnegative().describe('In-flight calls aborted by this kill.'),
  appliedAt: Timestamp,
});
export type ControlAckV1 = z.infer<typeof ControlAckV1>;
