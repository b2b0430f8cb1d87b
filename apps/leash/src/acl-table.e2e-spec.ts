import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TOPIC_NAMES } from '@leash/contracts';
import { runCli } from './cli';
import { recordingTerminal } from './cli/testing/recording-terminal';
import { ROOT } from './e2e/support/processes';
import { GOLDEN_SCENARIOS, goldenTenant } from './eval/golden-set';
import { LeashUnderTest } from './eval/leash-under-test';

/*
 * README's "What each process may do on Kafka" is what an operator grants as
 * ACLs: a process that does more than it says is refused on a secured cluster,
 * and one that is granted more than it does has more than it needs. This runs
 * the golden set and a kill and a resume through the CLI on the embedded bus,
 * then reads the bus's own records: each consumer group's subscribed topics
 * (while it runs) and the CloudEvents source of every record written. Each
 * process's reads must be exactly its row's; its writes within its row's.
 */

const PROCESSES = ['planner', 'policy', 'budget', 'approvals', 'executor', 'audit'] as const;
type Row = { reads: Set<string>; groups: string[]; writes: Set<string> };

/** The ACL table of README.md, topic names without the prefix. */
function aclTable(): Map<string, Row> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('| process   | reads (consumer group)');
  expect(start).toBeGreaterThan(0);
  const rows = new Map<string, Row>();
  for (const line of readme.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const [name, reads, writes] = line
      .split('|')
      .slice(1, 4)
      .map((cell) => cell.trim());
    const spans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    // A consumer group is a code span in parentheses; the other spans are topics.
    const groups = [...reads!.matchAll(/\(`([^`]+)`\)/g)].map((m) => m[1]!);
    const topics = spans(reads!).filter((span) => !groups.includes(span));
    rows.set(name!, {
      reads: new Set(reads!.startsWith('every topic') ? TOPIC_NAMES : topics),
      groups,
      writes: new Set(writes === 'nothing' ? [] : spans(writes!)),
    });
  }
  return rows;
}

describe("README's ACL table against what each process does on the bus", () => {
  let dir: string;
  let subscribed: Map<string, Set<string>>;
  let written: Map<string, Set<string>>;
  const prefix = 'leash.';
  const logical = (topic: string) => topic.slice(prefix.length);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-acl-'));
    const env = { LEASH_BUS_FILE: join(dir, 'bus.db'), LEASH_STORE_FILE: join(dir, 'store.db') };
    const system = await LeashUnderTest.start({
      tenants: GOLDEN_SCENARIOS.map(goldenTenant),
      dir,
      env,
    });
    try {
      const taskIds: string[] = [];
      for (const scenario of GOLDEN_SCENARIOS) {
        taskIds.push(
          await system.submit(scenario, {
            tenantId: goldenTenant(scenario),
            taskId: `acl-${scenario.id}`,
          }),
        );
      }
      await system.finished(taskIds, 120_000);
      for (const args of [
        ['kill', '--all', '--reason', 'acl check'],
        ['resume', '--all'],
      ]) {
        const run = recordingTerminal();
        expect({ args, code: await runCli(args, env, run.t), err: run.err }).toEqual({
          args,
          code: 0,
          err: [],
        });
      }
      // Members leave the group table when they stop: read it while they run.
      const bus = new Database(env.LEASH_BUS_FILE, { readonly: true });
      try {
        subscribed = new Map();
        for (const { group_name, topics } of bus
          .prepare('SELECT group_name, topics FROM bus_members')
          .all() as { group_name: string; topics: string }[]) {
          const set = subscribed.get(group_name) ?? new Set<string>();
          for (const topic of JSON.parse(topics) as string[]) set.add(logical(topic));
          subscribed.set(group_name, set);
        }
      } finally {
        bus.close();
      }
    } finally {
      await system.stop();
    }
    const bus = new Database(env.LEASH_BUS_FILE, { readonly: true });
    try {
      written = new Map();
      for (const { name, headers } of bus
        .prepare(
          'SELECT DISTINCT t.name AS name, m.headers AS headers FROM bus_messages m JOIN bus_topics t ON t.id = m.topic_id',
        )
        .all() as { name: string; headers: string }[]) {
        const source = (JSON.parse(headers) as Record<string, string>).ce_source ?? '?';
        const set = written.get(source) ?? new Set<string>();
        set.add(logical(name));
        written.set(source, set);
      }
    } finally {
      bus.close();
    }
  }, 180_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(PROCESSES)('%s reads exactly the topics its row lists, in the group it names', (name) => {
    const row = aclTable().get(name)!;
    expect(row.groups[0]).toBe(name);
    expect([...(subscribed.get(name) ?? [])].sort()).toEqual([...row.reads].sort());
  });

  it('the audit recorder reads every dead-letter topic in the second group its row names', () => {
    const row = aclTable().get('audit')!;
    expect(row.groups).toEqual(['audit', 'audit.dlq']);
    expect([...(subscribed.get('audit.dlq') ?? [])].sort()).toEqual(
      TOPIC_NAMES.map((topic) => `${topic}.dlq`).sort(),
    );
  });

  it('each reviewer consumer reads what the reviewer row says, in its group', () => {
    const row = aclTable().get('reviewer')!;
    const reviewers = [...subscribed].filter(([group]) => group.startsWith('leash-reviewer.'));
    expect(reviewers.length).toBe(2);
    expect(row.groups).toEqual(['leash-reviewer.<reviewer>']);
    for (const [group, topics] of reviewers) {
      expect({ group, topics: [...topics] }).toEqual({ group, topics: [...row.reads] });
    }
  });

  it('each service reads control in groups <service>.control.*, and no other group reads anything', () => {
    const control = [...subscribed].filter(([group]) => group.includes('.control.'));
    expect(control.map(([group]) => group.split('.control.')[0]).sort()).toEqual(
      PROCESSES.filter((p) => p !== 'audit').sort(),
    );
    for (const [group, topics] of control) {
      expect({ group, topics: [...topics] }).toEqual({ group, topics: ['control'] });
    }
    const known = (group: string) =>
      (PROCESSES as readonly string[]).includes(group) ||
      group === 'audit.dlq' ||
      group.includes('.control.') ||
      group.startsWith('leash-reviewer.') ||
      // The test's own observer of every task event.
      group.startsWith('e2e-observer-');
    expect([...subscribed.keys()].filter((group) => !known(group))).toEqual([]);
  });

  it.each(PROCESSES)('%s writes only topics its row lists (and its own dead letters)', (name) => {
    const row = aclTable().get(name)!;
    const beyond = [...(written.get(name) ?? [])].filter(
      (topic) =>
        !row.writes.has(topic) && !(topic.endsWith('.dlq') && row.reads.has(topic.slice(0, -4))),
    );
    expect(beyond).toEqual([]);
  });

  it('the processes wrote what the golden set needs, so the checks above saw real traffic', () => {
    for (const name of PROCESSES.filter((p) => p !== 'audit')) {
      expect({ name, wrote: (written.get(name)?.size ?? 0) > 0 }).toEqual({ name, wrote: true });
    }
    expect(written.get('audit')).toBeUndefined();
  });

  it('the CLI writes only what its row lists', () => {
    const row = aclTable().get('CLI')!;
    const cli = [...(written.get('leash-cli') ?? [])];
    expect(cli).toContain('control');
    expect(cli.filter((topic) => !row.writes.has(topic))).toEqual([]);
  });
});
