import { createHash } from 'node:crypto';

/** Buckets a share is counted in: percentages with two decimals split exactly. */
const BUCKETS = 10_000;

/**
 * Where a task falls in [0, 100): a stable hash of the agent and the task id,
 * so a task lands on the same side of a split on every delivery and in every
 * process, and raising the share only adds tasks to the canary.
 */
export function canaryPosition(agent: string, taskId: string): number {
  const digest = createHash('sha256').update(`${agent}\u0000${taskId}`).digest();
  return (digest.readUInt32BE(0) % BUCKETS) / (BUCKETS / 100);
}

/** Whether a task goes to a canary that takes `percent` of new tasks. */
export function takesCanary(agent: string, taskId: string, percent: number): boolean {
  return canaryPosition(agent, taskId) < percent;
}
