import type { AnyEnvelope } from '@leash/contracts';
import {
  recordUntrusted,
  seenOf,
  taintedArgumentNames,
  type TaskTaint,
} from '@leash/service-policy';
import { taintedArguments, toolRunText } from '@leash/taint';

/*
 * The planner reports, with each proposal, the values it copied from
 * untrusted text; the policy gate works the same out from its own record
 * of the task. One matching rule (@leash/taint) must give both the same
 * tainted arguments: this replays a task's events through the gate's record
 * and compares, proposal by proposal.
 */

export interface TaintAgreement {
  /** The planner's proposals compared. */
  readonly proposals: number;
  /** One line per proposal where the two differ. */
  readonly disagreements: readonly string[];
}

export function taintAgreement(input: string, events: readonly AnyEnvelope[]): TaintAgreement {
  const proposed = events.flatMap((e) => (e.type === 'leash.actions.proposed.v1' ? [e] : []));
  const stepOf = new Map(proposed.map((p) => [p.data.actionId, p.data.step]));
  const outputs = events.flatMap((e) =>
    e.type === 'leash.actions.completed.v1'
      ? [{ step: stepOf.get(e.data.actionId), text: toolRunText(e.data) }]
      : [],
  );
  const disagreements: string[] = [];
  let compared = 0;
  const seenIds = new Set<string>();
  for (const proposal of proposed) {
    // A reviewer's edit carries the values the reviewer kept, not the planner's report.
    if (proposal.data.replaces !== undefined || seenIds.has(proposal.data.actionId)) continue;
    seenIds.add(proposal.data.actionId);
    compared += 1;
    // What the planner had when it proposed: the input and every output of an earlier step.
    const record = emptyRecord();
    recordUntrusted(record, input);
    for (const output of outputs) {
      if (output.step !== undefined && output.step < proposal.data.step)
        recordUntrusted(record, output.text);
    }
    const args = proposal.data.arguments;
    const gate = taintedArgumentNames(args, [], seenOf(record));
    const planner = taintedArguments(args, proposal.data.tainted);
    if (gate.join() !== planner.join()) {
      disagreements.push(
        `${proposal.data.tool} at step ${proposal.data.step}: the gate finds [${gate.join(', ')}], the planner reported [${planner.join(', ')}]`,
      );
    }
  }
  return { proposals: compared, disagreements };
}

function emptyRecord(): TaskTaint {
  return {
    tenantId: 'eval',
    taskId: 'eval',
    inputSeen: true,
    values: [],
    verified: [],
    chars: 0,
    overflowed: false,
    awaiting: {},
    parked: [],
    updatedAt: new Date(0).toISOString(),
  };
}
