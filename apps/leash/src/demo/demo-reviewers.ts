import { REFERENCE_AGENTS } from '@leash/agents';

/*
 * The reviewer directory `npm start` seeds when LEASH_REVIEWERS is unset:
 * two people in every reference reviewer group of each demo tenant (two, so
 * an approval that needs a quorum of two can be given from the CLI).
 */

/** The tenant the demo's tasks, and `leash task submit` by default, run in. */
export const DEMO_TENANT = 'demo';

/** The tenants the demo and the README suggest (`--tenant demo-2`), each with reviewers. */
export const DEMO_TENANTS: readonly string[] = [DEMO_TENANT, 'demo-2'];

/** Every reviewer group the reference agents' approval chains name. */
export const REFERENCE_REVIEWER_GROUPS: readonly string[] = [
  ...new Set(Object.values(REFERENCE_AGENTS).flatMap((agent) => agent.profile.approvals.chain)),
];

const DEMO_PEOPLE = ['ana', 'ben'] as const;

export interface DemoReviewer {
  readonly tenantId: string;
  readonly reviewer: string;
  readonly displayName: string;
  readonly groups: readonly string[];
}

// The same people (and key files) in each tenant: one key per person, as a real reviewer has.
export const DEMO_REVIEWERS: readonly DemoReviewer[] = DEMO_TENANTS.flatMap((tenantId) =>
  REFERENCE_REVIEWER_GROUPS.flatMap((group) =>
    DEMO_PEOPLE.map((person) => ({
      tenantId,
      reviewer: `${person}.${group}`,
      displayName: `${person} (${group}, ${tenantId})`,
      groups: [group],
    })),
  ),
);

/** The demo reviewers who may answer `group` in `tenantId`, for the commands the demo prints. */
export function demoReviewersFor(tenantId: string, group: string): string[] {
  return DEMO_REVIEWERS.filter((r) => r.tenantId === tenantId && r.groups.includes(group)).map(
    (r) => r.reviewer,
  );
}
