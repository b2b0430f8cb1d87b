import { UsageError } from './arguments';
import { filterArguments, parseReplayCommand, summaryOf } from './replay.command';
import type { ReplayedRun } from '../replay/replay-runs';

describe('leash replay arguments', () => {
  it('takes a task id and a change', () => {
    expect(
      parseReplayCommand(['t-1', '--model', 'gpt-4o', '--release', 'support@3']),
    ).toMatchObject({
      kind: 'replay',
      target: { taskId: 't-1' },
      change: { model: 'gpt-4o', release: 3 },
      tools: 'recorded',
      json: false,
    });
  });

  it('takes a runs filter as name=value words', () => {
    expect(filterArguments(`agent=support status=failed since=7d "--tool" send_email`)).toEqual([
      '--agent',
      'support',
      '--status',
      'failed',
      '--since',
      '7d',
      '--tool',
      'send_email',
    ]);
    const command = parseReplayCommand(['--runs', 'agent=support status=failed limit=5']);
    expect(command).toMatchObject({
      target: { search: { agent: 'support', status: 'failed', limit: 5 } },
    });
  });

  it.each([
    [[], 'help'],
    [['a', 'b'], 'one TASK_ID'],
    [['a', '--runs', 'agent=x'], 'not both'],
    [['a', '--tools', 'all'], 'recorded or live-read'],
    [['a', '--release', 'x'], 'release number'],
    [['a', '--prompt', '/nonexistent/prompt.md'], 'cannot be read'],
    [['--runs', 'status=nope'], 'status'],
  ])('%j: %s', (argv, message) => {
    if (message === 'help') {
      expect(parseReplayCommand(argv)).toEqual({ kind: 'help', topic: 'replay' });
      return;
    }
    expect(() => parseReplayCommand(argv)).toThrow(UsageError);
    expect(() => parseReplayCommand(argv)).toThrow(message);
  });
});

describe('the summary of many replays', () => {
  const side = (
    status: string,
    cost: number,
    steps: { tool: string; gates: string; outcome: string }[],
  ) => ({
    status,
    reason: '',
    steps: steps.map((s, i) => ({ step: i + 1, arguments: {}, ...s })),
    costUsdMicros: cost,
    inputTokens: 0,
    outputTokens: 0,
  });
  const replayed = (taskId: string, kind: string, recorded: object, replay: object): ReplayedRun =>
    ({
      taskId,
      verdict: { kind, line: kind },
      recorded,
      replayed: replay,
    }) as unknown as ReplayedRun;

  it('counts changes, new denials and escalations, and the cost delta', () => {
    const ran = { tool: 'send', gates: 'policy allow', outcome: 'ran (succeeded)' };
    const denied = {
      tool: 'send',
      gates: 'policy deny',
      outcome: 'refused by policy (policy_denied)',
    };
    const asked = {
      tool: 'refund',
      gates: 'policy approve, approve by a person',
      outcome: 'ran (succeeded)',
    };
    const summary = summaryOf([
      replayed('same', 'same', side('succeeded', 100, [ran]), side('succeeded', 100, [ran])),
      replayed('denied', 'worse', side('succeeded', 100, [ran]), side('rejected', 150, [denied])),
      replayed('asked', 'changed', side('succeeded', 100, []), side('succeeded', 100, [asked])),
    ]);
    expect(summary).toMatchObject({
      runs: 3,
      changed: 2,
      worse: 1,
      newDenials: 1,
      newEscalations: 1,
      costDeltaUsdMicros: 50,
    });
    expect(summary.biggest.map((b) => b.taskId)).toEqual(['denied', 'asked']);
  });
});
