import type { Store } from '@leash/store';
import type { ApprovalsWaiting } from '@leash/telemetry';
import { approvalRequests } from './approvals.aggregates';

/** How many approval requests wait, and how long the oldest has; read at scrape time. */
export async function approvalsWaiting(
  store: Store,
  now: number = Date.now(),
): Promise<ApprovalsWaiting> {
  const requests = store.repository(approvalRequests);
  const [count, first] = await Promise.all([
    requests.count({ where: { status: 'pending' } }),
    // The soonest to expire stands in for the oldest: every stage of a chain has its TTL.
    requests.find({ where: { status: 'pending' }, orderBy: 'expiresAt', order: 'asc', limit: 1 }),
  ]);
  const oldest = first[0]?.doc.requestedAt;
  return {
    count,
    oldestAgeSeconds: oldest ? Math.max(0, (now - Date.parse(oldest)) / 1000) : 0,
  };
}
