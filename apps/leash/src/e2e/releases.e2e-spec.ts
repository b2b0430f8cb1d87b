import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReleaseCatalog, SUPPORT_AGENT, signedReleaseEnvelope, takesCanary } from '@leash/agents';
import { auditEntries } from '@leash/audit';
import { createEnvelope, type ReleaseCreatedV1 } from '@leash/contracts';
import { generateGateKey } from '@leash/signing';
import { waitFor } from '@leash/testing';
import { REFERENCE_SCENARIOS } from '@leash/service-planner';
import { runCli } from '../cli';
import type { Terminal } from '../cli/terminal';
import { LeashUnderTest } from '../eval/leash-under-test';

/*
 * Releases on the embedded engines, driven through the CLI as an operator
 * would: a release with a changed prompt and a stricter policy canaried at
 * 20% of 200 tasks, each task wholly on the release its id hashes to, the
 * audit naming it; promote; rollback; a bad canary rolled back by itself;
 * bad input refused with nothing changed; and release events no operator
 * signed, published straight on the control topic, refused.
 */

const TENANT = 'releases';
const SCENARIO = REFERENCE_SCENARIOS.find((s) => s.id === 'support.order-status-draft')!;

describe('releases, canary and rollback', () => {
  let harness: LeashUnderTest;
  let files: string;

  beforeAll(async () => {
    files = mkdtempSync(join(tmpdir(), 'leash-release-files-'));
    harness = await LeashUnderTest.start({ tenants: [TENANT] });
  });

  afterAll(async () => {
    await harness?.stop();
    rmSync(files, { recursive: true, force: true });
  });

  async function leash(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const terminal: Terminal = { out: (l) => out.push(l), err: (l) => err.push(l) };
    const code = await runCli(argv, cliEnv(), terminal);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  function cliEnv(): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '',
      LEASH_BUS_FILE: join(harness.dir, 'bus.db'),
      LEASH_STORE_FILE: join(harness.dir, 'store.db'),
      USER: 'release-manager',
    };
  }

  function file(name: string, text: string): string {
    const path = join(files, name);
    writeFileSync(path, text);
    return path;
  }

  const catalog = () => new ReleaseCatalog(harness.store);

  async function runTasks(count: number, prefix: string) {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      ids.push(await harness.submit(SCENARIO, { tenantId: TENANT, taskId: `${prefix}-${i}` }));
    }
    return harness.finished(ids, 240_000);
  }

  it('canaries a release at 20% of 200 tasks, each task wholly on one release, the audit naming it', async () => {
    const stricter = `${SUPPORT_AGENT.policy.cedar}
@id("refunds-over-500-forbidden")
@reason("this release refunds at most $500")
forbid (principal, action == Action::"issue_refund", resource)
when { context.amount.greaterThan(decimal("500.00")) };
`;
    const created = await leash(
      'release',
      'create',
      '--agent',
      'support',
      '--file',
      file(
        'support-2.yaml',
        [
          'description: a shorter prompt and no refund over $500',
          'prompt:',
          '  text: |',
          '    You are the support agent of Acme. Look the customer up first; draft, do not send.',
          'policy:',
          '  file: support-2.cedar',
          '',
        ].join('\n'),
      ),
    );
    writeFileSync(join(files, 'support-2.cedar'), stricter);
    // The policy file was written after the first try: it failed, naming the file, and made nothing.
    expect(created.code).toBe(2);
    expect(created.err).toMatch(/policy\.file: .*support-2\.cedar/);
    expect((await catalog().releases('support')).map((r) => r.release)).toEqual([1]);

    const again = await leash(
      'release',
      'create',
      '--agent',
      'support',
      '--file',
      join(files, 'support-2.yaml'),
    );
    expect(again).toMatchObject({ code: 0 });
    expect(again.out).toMatch(/support: release 1 -> 2/);
    expect(again.out).toMatch(/\+ @id\("refunds-over-500-forbidden"\)/);
    expect(again.out).toMatch(/made release support@2: it takes no tasks until/);

    expect(await leash('release', 'promote', 'support@2', '--canary', '20')).toMatchObject({
      code: 0,
    });
    const records = await runTasks(200, 'canary');

    let onCanary = 0;
    for (const record of records) {
      const expected = takesCanary('support', record.taskId, 20) ? 2 : 1;
      if (expected === 2) onCanary += 1;
      expect(record.finished).toMatchObject({
        status: 'succeeded',
        agent: { name: 'support', version: expected },
        versions: { profile: expected },
      });
      // Every event of the task, through every gate, names the same release.
      for (const event of record.events) {
        const agent = (event.data as { agent?: { name: string; version: number } }).agent;
        if (agent && typeof agent === 'object') expect(agent.version).toBe(expected);
      }
    }
    expect(onCanary).toBeGreaterThan(20);
    expect(onCanary).toBeLessThan(60);

    // The audit names the release of each task's end, and the prompt it ran with.
    const canaryTask = records.find((r) => r.finished!.agent.version === 2)!;
    const finish = await waitFor(
      async () =>
        (
          await harness.store
            .repository(auditEntries)
            .find({ where: { taskId: canaryTask.taskId, type: 'leash.tasks.finished.v1' } })
        )[0]?.doc,
      { timeoutMs: 30_000, description: 'the audit to record the canary task' },
    );
    const entries = (
      await harness.store.repository(auditEntries).find({ where: { taskId: canaryTask.taskId } })
    ).map((e) => e.doc);
    const named = entries.filter((e) => e.release !== undefined);
    // Every action event through every gate, and the task's end, names the release.
    expect(named.length).toBeGreaterThanOrEqual(8);
    expect(new Set(named.map((e) => e.release))).toEqual(new Set([2]));
    expect(finish.versions).toMatchObject({
      profile: 2,
      prompt: expect.stringMatching(/^support@[0-9a-f]{12}\+/),
    });

    const status = await leash('release', 'status', '--agent', 'support');
    expect(status.out).toMatch(/canary @2 takes 20% of new tasks/);
    expect(status.out).toMatch(new RegExp(`@2 +${onCanary} tasks`));
    expect(status.out).toMatch(new RegExp(`@1 +${200 - onCanary} tasks`));

    // Promote: every new task on @2. Rollback: every new task on @1 again.
    expect(await leash('release', 'promote', 'support@2', '--full')).toMatchObject({ code: 0 });
    const [promoted] = await runTasks(1, 'promoted');
    expect(promoted!.finished!.agent.version).toBe(2);

    const rolledBack = await leash(
      'release',
      'rollback',
      '--agent',
      'support',
      '--reason',
      'the drill',
    );
    expect(rolledBack.code).toBe(0);
    expect(rolledBack.out).toMatch(
      /rollback of support@2 applied in \d+ ms: @1 takes every new task/,
    );
    const [after] = await runTasks(1, 'rolled-back');
    expect(after!.finished!.agent.version).toBe(1);
    expect((await leash('release', 'status', '--agent', 'support')).out).toMatch(
      /last change: rollback of @2 by release-manager@.*: the drill/,
    );
  });

  it('rolls a bad canary back by itself, says why, and the audit records it', async () => {
    // One step is not enough for this agent: every task on the canary hits its step limit.
    const made = await leash(
      'release',
      'create',
      '--agent',
      'support',
      '--file',
      file('support-3.yaml', 'description: too few steps\nmaxSteps: 1\ncanary:\n  minSample: 10\n'),
    );
    expect(made.code).toBe(0);
    const release = Number(/made release support@(\d+)/.exec(made.out)![1]);
    // It does worse on the golden set than the current release: not promoted without a reason.
    const refused = await leash('release', 'promote', `support@${release}`, '--canary', '50');
    expect(refused.code).toBe(2);
    expect(refused.out).toMatch(
      new RegExp(
        `golden set of support: @${release} passes (\\d+) of (\\d+), current @1 (\\d+) of \\2`,
      ),
    );
    expect(refused.err).toMatch(
      /does worse on the golden set than the current release: nothing changed/,
    );
    expect((await catalog().routing('support'))?.canary).toBeUndefined();
    const forced = await leash(
      'release',
      'promote',
      `support@${release}`,
      '--canary',
      '50',
      '--force',
      '--reason',
      'drill: the canary watch must catch it',
    );
    expect(forced.code).toBe(0);
    expect((await catalog().routing('support'))?.last?.reason).toMatch(
      /drill: the canary watch must catch it \(forced past the golden set: golden set of support: /,
    );
    const records = await runTasks(60, 'bad-canary');
    expect(
      records.filter((r) => r.finished!.agent.version === release).length,
    ).toBeGreaterThanOrEqual(10);
    expect(
      records
        .filter((r) => r.finished!.agent.version === release)
        .every((r) => r.finished!.status !== 'succeeded'),
    ).toBe(true);

    const routing = await waitFor(
      async () => {
        const r = await catalog().routing('support');
        return r?.last?.change === 'auto-rollback' ? r : undefined;
      },
      { timeoutMs: 30_000, description: 'the canary watch to roll the canary back' },
    );
    expect(routing.canary).toBeUndefined();
    expect(routing.current).toBe(1);
    expect(routing.last!.reason).toMatch(
      new RegExp(
        `canary @${release} rolled back automatically .*failure rate 100\\.0% against 0\\.0%`,
      ),
    );

    const status = await leash('release', 'status', '--agent', 'support');
    expect(status.out).toMatch(/no canary/);
    expect(status.out).toMatch(/last change: auto-rollback of @\d+ by planner \(canary watch\)/);
    const audited = await waitFor(
      async () =>
        (
          await harness.store
            .repository(auditEntries)
            .find({ where: { type: 'leash.releases.routed.v1' } })
        ).find((e) => e.doc.summary.includes('auto-rollback'))?.doc,
      { timeoutMs: 30_000, description: 'the audit to record the automatic rollback' },
    );
    expect(audited.summary).toMatch(/failure rate/);

    const [next] = await runTasks(1, 'after-auto-rollback');
    expect(next!.finished!.agent.version).toBe(1);
  });

  it('refuses bad input with a clear error, and changes nothing', async () => {
    const before = {
      releases: (await catalog().releases('support')).map((r) => r.release),
      routing: await catalog().routing('support'),
    };
    const invalid = await leash(
      'release',
      'create',
      '--agent',
      'support',
      '--file',
      file('invalid.yaml', 'description: x\nmaxSteps: -1\ntols: [a]\n'),
    );
    expect(invalid).toMatchObject({ code: 2 });
    expect(invalid.err).toMatch(/maxSteps \(line 2\)/);
    expect(invalid.err).toMatch(/tols \(line 3\): not a field here/);

    const model = await leash(
      'release',
      'create',
      '--agent',
      'support',
      '--file',
      file('model.yaml', 'model: gpt-9-ultra\n'),
    );
    expect(model).toMatchObject({ code: 2 });
    expect(model.err).toMatch(/model: "gpt-9-ultra" is not a model this deployment prices/);

    const cedar = file('broken.cedar', 'permit (principal, action, resource) when { nonsense };\n');
    const policy = await leash('policy', 'publish', '--agent', 'support', '--file', cedar);
    expect(policy).toMatchObject({ code: 2 });
    expect(policy.err).toMatch(/policy: /);

    const noPrevious = await leash('release', 'rollback', '--agent', 'procurement');
    expect(noPrevious).toMatchObject({ code: 2 });
    expect(noPrevious.err).toMatch(/procurement has no previous release to roll back to/);

    const unknown = await leash('release', 'promote', 'support@99', '--full');
    expect(unknown).toMatchObject({ code: 2 });
    expect(unknown.err).toMatch(/support has no release 99/);

    expect((await catalog().releases('support')).map((r) => r.release)).toEqual(before.releases);
    expect(await catalog().routing('support')).toEqual(before.routing);
    expect((await catalog().routing('procurement'))?.last).toBeUndefined();
  });

  it('refuses a release and a promotion no operator signed, published straight on the control topic', async () => {
    const before = {
      releases: (await catalog().releases('support')).map((r) => r.release),
      routing: await catalog().routing('support'),
    };
    const current = (await catalog().release('support', before.routing!.current))!;
    const next = Math.max(...before.releases) + 1;
    // What a compromised service could publish: a release whose policy permits everything.
    const permissive: ReleaseCreatedV1 = {
      agent: 'support',
      release: next,
      parent: current.release,
      description: 'everything allowed',
      author: 'a compromised planner',
      createdAt: new Date().toISOString(),
      profile: { ...current.profile, version: next, policy: { id: 'support', version: 900 } },
      prompt: {
        id: current.prompt.id,
        version: current.prompt.version,
        text: current.prompt.text!,
      },
      policy: {
        id: 'support',
        version: 900,
        cedar: 'permit (principal, action, resource);',
        description: '',
      },
      toolsVersion: current.toolsVersion,
      canary: current.canary,
    };
    const promote = {
      agent: 'support',
      change: 'promote' as const,
      release: next,
      current: next,
      history: [...before.routing!.history, before.routing!.current],
      moveRunning: true,
      reason: 'forged',
      by: 'release-manager',
      at: new Date().toISOString(),
      basedOn: before.routing!.last?.at ?? '',
    };
    const stranger = generateGateKey('operator-dev-stranger').signingKey;
    await harness.bus.publish(
      'control',
      createEnvelope('leash.releases.created.v1', permissive, { source: 'leash-cli' }),
    );
    await harness.bus.publish(
      'control',
      signedReleaseEnvelope({ type: 'leash.releases.created.v1', data: permissive }, stranger, {
        source: 'leash-cli',
      }),
    );
    await harness.bus.publish(
      'control',
      createEnvelope('leash.releases.routed.v1', promote, { source: 'leash-cli' }),
    );

    // The operator's own release comes after them on the one control partition: once it is
    // made, every service has handled (and refused) the forged ones. It takes the number the
    // forged release claimed, which it could not if that one had been kept.
    const made = await leash(
      'release',
      'create',
      '--agent',
      'support',
      '--file',
      file('after-forgery.yaml', 'description: a genuine release\nmaxSteps: 7\n'),
    );
    expect(made).toMatchObject({ code: 0 });
    expect(made.out).toContain(`made release support@${next}`);
    const kept = (await catalog().release('support', next))!;
    expect(kept).toMatchObject({
      author: expect.stringMatching(/^release-manager/),
      description: 'a genuine release',
    });
    expect(kept.policy.cedar).not.toContain('permit (principal, action, resource);');
    expect(await catalog().routing('support')).toEqual(before.routing);
  });
});
