import type { ScriptedConversation } from '../reference/scenario';
import { GoldenTaskFile, recordedScript, scenarioOfGoldenTask } from './golden-task-file';

const FILE: GoldenTaskFile = {
  id: 'support.promoted-run-1',
  agent: 'support',
  title: 'Promoted from run run-1',
  input: 'From jane@example.com: where is my order?',
  requestedBy: 'jane@example.com',
  tags: ['golden', 'promoted'],
  expect: { status: 'succeeded', requiredTools: ['lookup_customer'], forbiddenTools: [] },
  script: {
    turns: [
      { say: 'Looking up.', calls: [{ tool: 'lookup_customer', arguments: { customer: 'C-1' } }] },
    ],
    final: 'It ships today.',
  },
  source: { runId: 'run-1' },
};

const at = (turn: number) => ({ turn }) as ScriptedConversation;

describe('golden task files', () => {
  it('play the recorded turns in order, then the recorded answer', () => {
    const script = recordedScript(FILE.script);
    expect(script(at(0))).toEqual({
      say: 'Looking up.',
      calls: [{ tool: 'lookup_customer', arguments: { customer: 'C-1' } }],
    });
    expect(script(at(1))).toEqual({ final: 'It ships today.' });
    expect(scenarioOfGoldenTask(FILE)).toMatchObject({ id: FILE.id, expect: FILE.expect });
  });

  it('are refused when the id is not the agent’s, or an expectation is not one', () => {
    expect(GoldenTaskFile.safeParse(FILE).success).toBe(true);
    expect(GoldenTaskFile.safeParse({ ...FILE, id: 'procurement.promoted-run-1' }).success).toBe(
      false,
    );
    expect(
      GoldenTaskFile.safeParse({ ...FILE, expect: { ...FILE.expect, status: 'fine' } }).success,
    ).toBe(false);
    expect(GoldenTaskFile.safeParse({ ...FILE, extra: true }).success).toBe(false);
  });
});
