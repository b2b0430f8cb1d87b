// Why apart: what a policy says beyond permit/forbid is read from its Cedar annotations, here alone.
import type * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { Route } from '@leash/contracts';

/** What one policy in a set says beyond permit/forbid, read from its annotations. */
export interface PolicyRule {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  /** `@route("approve")`: a matching permit sends the action to a human. */
  readonly route?: Route;
  /** `@approvals("N")`: that many distinct reviewers. */
  readonly approvals: number;
  /** `@escalate("approve")`: grants nothing alone; routes to a human what another permit allows. */
  readonly escalate: boolean;
  /** `@reason("...")`: told to the planner (forbid) or the reviewer (permit). */
  readonly reason?: string;
  /** `@reviewers("group")`: the reviewer group asked first, instead of the start of the agent's chain. */
  readonly reviewers?: string;
}

/** A reviewer group's name, as profiles' approval chains spell them: 1-100 characters, no space at either end. */
const REVIEWER_GROUP = /^\S(?:.{0,98}\S)?$/;

export function ruleOf(
  id: string,
  effect: cedar.Effect,
  annotations: cedar.Annotations,
  problems: string[],
): PolicyRule {
  const route = annotations['route'];
  if (route !== undefined && route !== 'approve' && route !== 'allow') {
    problems.push(`${id}: @route must be "approve" or "allow", not "${route}"`);
  }
  const approvalsText = annotations['approvals'];
  const approvals = approvalsText === undefined ? 0 : Number(approvalsText);
  if (
    approvalsText !== undefined &&
    !(Number.isInteger(approvals) && approvals >= 1 && approvals <= 10)
  ) {
    problems.push(`${id}: @approvals must be a whole number from 1 to 10, not "${approvalsText}"`);
  }
  const escalateText = annotations['escalate'];
  if (escalateText !== undefined && escalateText !== 'approve') {
    problems.push(`${id}: @escalate must be "approve", not "${escalateText}"`);
  }
  const routing = route === 'approve' || approvalsText !== undefined || escalateText !== undefined;
  if (effect === 'forbid' && routing) {
    problems.push(`${id}: a forbid cannot route to a human; use a permit with @route or @escalate`);
  }
  const reviewers = annotations['reviewers'];
  if (reviewers !== undefined) {
    if (!REVIEWER_GROUP.test(reviewers)) {
      problems.push(
        `${id}: @reviewers must name one reviewer group (${REVIEWER_GROUP}), not "${reviewers}"`,
      );
    } else if (effect === 'forbid' || !routing) {
      problems.push(
        `${id}: @reviewers names who approves, so it needs a permit that sends to a human (@route("approve"), @approvals or @escalate)`,
      );
    }
  }
  return {
    id,
    effect,
    ...(route === 'approve' || route === 'allow' ? { route } : {}),
    approvals: Number.isInteger(approvals) && approvals > 0 ? approvals : 0,
    escalate: escalateText !== undefined,
    ...(annotations['reason'] !== undefined ? { reason: annotations['reason'] } : {}),
    ...(reviewers !== undefined && REVIEWER_GROUP.test(reviewers) ? { reviewers } : {}),
  };
}
