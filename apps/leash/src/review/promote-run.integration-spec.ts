import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GoldenTaskFile,
  loadAgentFolder,
  REFERENCE_AGENTS,
  REFERENCE_TOOLS,
  SUPPORT_SCENARIOS,
} from '@leash/agents';
import { runSummaries } from '@leash/audit';
import { waitFor } from '@leash/testing';
import { runCli } from '../cli';
import { recordingTerminal } from '../cli/testing/recording-terminal';
import { checkTask } from '../eval/golden-checks';
import { trajectoryOf } from '../eval/golden-set';
import { LeashUnderTest } from '../eval/leash-under-test';

/*
 * leash review promote, end to end on the embedded engines: a support run
 * (a $240 refund a support lead approves) is recorded by the audit, drawn
 * and passed by a reviewer, and promoted into a copy of the support agent's
 * folder; the golden task file loads with the folder, and a fresh Leash
 * plays it with the scripted model to the same trajectory and passes its
 * checks.
 */

const SCENARIO = SUPPORT_SCENARIOS.find((s) => s.id === 'support.refund-over-threshold')!;
const TENANT = 'promote-test';

describe('leash review promote', () => {
  let dir: string;
  let agentDir: string;
  let agentEnv: Record<string, string>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-promote-'));
    // The support agent as a folder of its own (its tools are the code Leash ships).
    agentDir = join(dir, 'agents', 'support');
    mkdirSync(agentDir, { recursive: true });
    const shipped = REFERENCE_AGENTS['support']!.source.dir;
    for (const name of ['agent.yaml', 'prompt.md', 'policy.cedar', 'rubric.yaml']) {
      copyFileSync(join(shipped, name), join(agentDir, name));
    }
    agentEnv = { LEASH_SEED_REFERENCE_AGENTS: 'false', LEASH_AGENT_DIRS: join(dir, 'agents') };
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function leash(...argv: string[]) {
    const run = recordingTerminal();
    const code = await runCli(
      argv,
      {
        LEASH_BUS_FILE: join(dir, 'first', 'bus.db'),
        LEASH_STORE_FILE: join(dir, 'first', 'store.db'),
        ...agentEnv,
        USER: 'rita',
      },
      run.t,
    );
    return { code, out: run.out.join('\n'), err: run.err.join('\n') };
  }

  it('writes a reviewed run as a golden task that the scripted model plays back to the same trajectory', async () => {
    mkdirSync(join(dir, 'first'));
    const first = await LeashUnderTest.start({
      tenants: [TENANT],
      dir: join(dir, 'first'),
      env: agentEnv,
    });
    let recorded: string[];
    try {
      const taskId = await first.submit(SCENARIO, { tenantId: TENANT, taskId: 'run-refund-240' });
      const [record] = await first.finished([taskId], 60_000);
      expect(await checkTask(first.backends, record!)).toEqual([]);
      recorded = trajectoryOf(record!.events);
      await waitFor(
        async () =>
          (await first.store.repository(runSummaries).get(taskId))?.doc.status === 'succeeded',
        { timeoutMs: 30_000, description: 'the audit to record the run finished' },
      );
    } finally {
      await first.stop();
    }

    // Not reviewed yet: nothing is promoted.
    const early = await leash('review', 'promote', 'run-refund-240');
    expect(early.code).toBe(2);
    expect(early.err).toContain('has not been reviewed');

    expect((await leash('review', 'sample', '--agent', 'support', '--size', '5')).code).toBe(0);
    const scored = await leash(
      'review',
      'score',
      'run-refund-240',
      '--answer',
      'answered_the_question=yes',
      '--answer',
      'facts_from_records=yes',
      '--answer',
      'right_escalation=yes',
      '--answer',
      'tone=4',
      '--note',
      'refund over the threshold, approved by a lead',
      '--by',
      'rita@acme.example',
    );
    expect(scored).toMatchObject({ code: 0, err: '' });

    const promoted = await leash('review', 'promote', 'run-refund-240', '--name', 'refund-240');
    expect(promoted).toMatchObject({ code: 0, err: '' });
    const file = join(agentDir, 'golden', 'refund-240.json');
    expect(promoted.out).toContain(
      `wrote ${file}: golden task support.refund-240, expects succeeded`,
    );

    // The file is data: valid, with its expectations written from the run and its review.
    const written = GoldenTaskFile.parse(JSON.parse(readFileSync(file, 'utf8')));
    expect(written).toMatchObject({
      id: 'support.refund-240',
      agent: 'support',
      input: SCENARIO.input,
      requestedBy: 'jane@example.com',
      tags: ['golden', 'promoted'],
      expect: {
        status: 'succeeded',
        requiredTools: ['issue_refund', 'lookup_customer'],
        forbiddenTools: [],
        reviews: { issue_refund: 'approve' },
        trajectory: { gates: [{ tool: 'issue_refund', decision: 'human' }] },
      },
      source: { runId: 'run-refund-240', reviewer: 'rita@acme.example' },
    });
    expect(written.script.turns.map((t) => t.calls.map((c) => c.tool))).toEqual([
      ['lookup_customer'],
      ['issue_refund'],
    ]);

    // Promoting it again would overwrite it: refused.
    const again = await leash('review', 'promote', 'run-refund-240', '--name', 'refund-240');
    expect(again.code).toBe(2);
    expect(again.err).toContain('exists');

    // The folder loads with it, and a fresh Leash plays it from the file: the answer, changed
    // by hand here, shows the recording was played, not the scenario whose input it shares.
    writeFileSync(
      file,
      JSON.stringify({ ...written, script: { ...written.script, final: 'Played from golden/.' } }),
    );
    const [task] = loadAgentFolder(agentDir, REFERENCE_TOOLS).goldenTasks;
    expect(task?.id).toBe('support.refund-240');
    const second = await LeashUnderTest.start({ tenants: [TENANT], env: agentEnv });
    try {
      const taskId = await second.submit(task!, { tenantId: TENANT, taskId: 'replayed-refund' });
      const [record] = await second.finished([taskId], 60_000);
      expect(await checkTask(second.backends, record!)).toEqual([]);
      expect(trajectoryOf(record!.events)).toEqual(recorded);
      expect(record!.finished?.result).toBe('Played from golden/.');
    } finally {
      await second.stop();
    }
  }, 180_000);
});
