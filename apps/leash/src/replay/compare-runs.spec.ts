import { sideOf, verdictOf, type RunEvent, type RunSide } from './compare-runs';

const proposed = (actionId: string, step: number, tool: string, args: object): RunEvent => ({
  type: 'leash.actions.proposed.v1',
  data: { actionId, step, tool, arguments: args },
});
const decided = (actionId: string, route: string): RunEvent => ({
  type: 'leash.actions.decided.v1',
  data: { actionId, decision: { route } },
});
const completed = (actionId: string): RunEvent => ({
  type: 'leash.actions.completed.v1',
  data: { actionId, status: 'succeeded' },
});
const rejected = (actionId: string, gate: string, code: string): RunEvent => ({
  type: 'leash.actions.rejected.v1',
  data: { actionId, gate, code },
});
const finished = (status: string, usdMicros: number, result?: string): RunEvent => ({
  type: 'leash.tasks.finished.v1',
  data: {
    status,
    reason: 'r',
    ...(result !== undefined ? { result } : {}),
    cost: { usdMicros, inputTokens: 10, outputTokens: 2 },
  },
});

function run(...events: RunEvent[]): RunSide {
  return sideOf(events);
}

describe('sideOf', () => {
  it('reads each action with its gates and outcome, and the end', () => {
    const side = run(
      proposed('t:1:0', 1, 'lookup', { id: 1 }),
      decided('t:1:0', 'allow'),
      completed('t:1:0'),
      proposed('t:2:0', 2, 'refund', { amount: 5 }),
      decided('t:2:0', 'approve'),
      { type: 'leash.approvals.requested.v1', data: { approvalId: 'a1', actionId: 't:2:0' } },
      { type: 'leash.approvals.decided.v1', data: { approvalId: 'a1', verdict: 'reject' } },
      rejected('t:2:0', 'approvals', 'approval_rejected'),
      finished('rejected', 300, 'no refund'),
    );
    expect(side.steps).toEqual([
      {
        step: 1,
        tool: 'lookup',
        arguments: { id: 1 },
        gates: 'policy allow',
        outcome: 'ran (succeeded)',
      },
      {
        step: 2,
        tool: 'refund',
        arguments: { amount: 5 },
        gates: 'policy approve, reject by a person',
        outcome: 'refused by approvals (approval_rejected)',
      },
    ]);
    expect(side).toMatchObject({ status: 'rejected', answer: 'no refund', costUsdMicros: 300 });
  });
});

describe('verdictOf', () => {
  const base = [
    proposed('t:1:0', 1, 'lookup', { id: 1 }),
    decided('t:1:0', 'allow'),
    completed('t:1:0'),
  ];

  it('is same when every step and the end are the same', () => {
    const a = run(...base, finished('succeeded', 100, 'done'));
    expect(verdictOf(a, run(...base, finished('succeeded', 100, 'done')), undefined)).toEqual({
      kind: 'same',
      line: 'same',
    });
  });

  it('names the first differing step, and ranks the ends', () => {
    const recorded = run(
      ...base,
      proposed('t:2:0', 2, 'send', {}),
      decided('t:2:0', 'allow'),
      completed('t:2:0'),
      finished('succeeded', 100, 'sent'),
    );
    const replayed = run(
      ...base,
      proposed('t:2:0', 2, 'send', {}),
      decided('t:2:0', 'deny'),
      rejected('t:2:0', 'policy', 'policy_denied'),
      finished('rejected', 120, 'not sent'),
    );
    const verdict = verdictOf(recorded, replayed, undefined);
    expect(verdict.kind).toBe('worse');
    expect(verdict.step).toBe(2);
    expect(verdictOf(replayed, recorded, undefined).kind).toBe('better');
  });

  it('ranks the same end by cost, and says changed when nothing ranks', () => {
    const a = run(...base, finished('succeeded', 100, 'a'));
    expect(verdictOf(a, run(...base, finished('succeeded', 90, 'b')), undefined).kind).toBe(
      'better',
    );
    expect(verdictOf(a, run(...base, finished('succeeded', 110, 'b')), undefined).kind).toBe(
      'worse',
    );
    expect(verdictOf(a, run(...base, finished('succeeded', 100, 'b')), undefined).kind).toBe(
      'changed',
    );
  });

  it('says diverged at the step where the replay stopped', () => {
    const a = run(...base, finished('succeeded', 100, 'a'));
    const verdict = verdictOf(a, run(...base, finished('failed', 100)), {
      kind: 'tool',
      step: 2,
      detail: 'send {} is not in the recording',
      stopped: true,
    });
    expect(verdict).toEqual({
      kind: 'diverged',
      step: 2,
      line: 'diverged at step 2: send {} is not in the recording',
    });
  });
});
