import { auditEntries, runSummaries, type AuditEntry, type RunSummary } from '@leash/audit';
import type { Store } from '@leash/store';
import { formatTrajectory, runAuditCommand } from './audit.command';
import { formatRuns } from './runs.command';
import type { Terminal } from './terminal';

/** ESC (CSI, OSC), BEL, a C1 CSI, a bidi override and a newline: each rewrites what a terminal shows. */
const HOSTILE =
  'refund $10\u001b[2K\u001b[1A\r$10 approved\u0007\u001b]0;leash: all clear\u0007\u009b8m\u202e\nFAKE line';
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const run: RunSummary = {
  taskId: 'task-1',
  tenantId: 'acme',
  agent: 'support',
  agentVersion: 1,
  status: 'rejected',
  errorClass: 'policy_denied',
  reason: HOSTILE,
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:01.000Z',
  costUsdMicros: 0,
  usageUsdMicros: 0,
  inputTokens: 0,
  outputTokens: 0,
  latencyMs: 1000,
  tools: ['issue_refund'],
  toolCalls: 1,
  rejections: 1,
  toolFailures: 0,
  versions: {},
  events: 2,
  updatedAt: '2026-01-01T00:00:01.000Z',
};

const entries: AuditEntry[] = [
  {
    entryId: 'e1',
    taskId: 'task-1',
    tenantId: 'acme',
    type: 'leash.actions.proposed.v1',
    topic: 'actions.proposed',
    source: 'planner',
    time: '2026-01-01T00:00:00.100Z',
    recordedAt: '2026-01-01T00:00:00.100Z',
    kind: 'plan',
    summary: `proposes issue_refund: ${HOSTILE}`,
    data: { step: 1, tool: 'issue_refund', reason: HOSTILE },
  },
];

function terminal() {
  const out: string[] = [];
  const t: Terminal = { out: (l) => out.push(l), err: (l) => out.push(l) };
  return { t, out };
}

const store = {
  repository: (aggregate: unknown) =>
    aggregate === runSummaries
      ? { get: async () => ({ doc: run }) }
      : aggregate === auditEntries
        ? { find: async () => entries.map((doc) => ({ doc })) }
        : undefined,
} as unknown as Store;

describe('leash audit with escape sequences in what it prints', () => {
  it('shows ESC, OSC, BEL, C1, bidi and newlines visibly, one line per entry', async () => {
    const { t, out } = terminal();
    expect(await runAuditCommand({ kind: 'audit', taskId: 'task-1', json: false }, store, t)).toBe(
      0,
    );
    for (const line of out) expect(line).not.toMatch(UNSAFE);
    const text = out.join('\n');
    expect(text).toContain('\\x1b[2K\\x1b[1A\\x0d$10 approved\\x07\\x1b]0;leash: all clear\\x07');
    expect(text).toContain('\\x9b8m\\u202e\\x0aFAKE line');
    expect(out.filter((line) => line.includes('FAKE line'))).toHaveLength(3);
    expect(out.some((line) => line.startsWith('FAKE'))).toBe(false);
  });

  it('keeps --json parseable and free of raw control characters', async () => {
    const { t, out } = terminal();
    await runAuditCommand({ kind: 'audit', taskId: 'task-1', json: true }, store, t);
    expect(out).toHaveLength(1);
    expect(out[0]).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(JSON.parse(out[0]!).run.reason).toBe(HOSTILE);
  });

  it('escapes the plan the planner stated', () => {
    const lines = formatTrajectory(undefined, entries);
    expect(lines).toContain(
      '  1. issue_refund: refund $10\\x1b[2K\\x1b[1A\\x0d$10 approved\\x07\\x1b]0;leash: all clear\\x07\\x9b8m\\u202e\\x0aFAKE line',
    );
  });
});

describe('leash runs search with escape sequences in a run', () => {
  it('shows them visibly in its table', () => {
    const lines = formatRuns([{ ...run, taskId: 'task\u001b]0;x\u0007', agent: 'a\u202eb' }]);
    for (const line of lines) expect(line).not.toMatch(UNSAFE);
    expect(lines[1]).toContain('task\\x1b]0;x\\x07  acme    a\\u202eb');
  });
});
