import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditRecorder } from '@leash/audit';
import { BASE_ENV, loadConfig } from '@leash/config';
import { createEnvelope } from '@leash/contracts';
import { openEngines } from '@leash/engines';
import { runLeash } from './support/processes';

/*
 * Untrusted text with terminal escape sequences, through the real binary:
 * what `leash task watch` and `leash audit` print shows them, never obeys
 * them. (`leash approvals list` formats through the same function; its spec
 * covers it.)
 */

// Erase the line and go up (hide what was printed), retitle the terminal (OSC), ring (BEL), C1 CSI, bidi override, a newline.
const HOSTILE =
  'pay $9,900\u001b[2K\u001b[1A\u001b]0;leash: all clear\u0007\u0007\u009b8m\u202e\nFAKE approved';
const SHOWN = 'pay $9,900\\x1b[2K\\x1b[1A\\x1b]0;leash: all clear\\x07\\x07\\x9b8m\\u202e';
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('hostile text through leash task watch and leash audit', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-hostile-'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints escape sequences from the input and the planner visibly', async () => {
    const env = {
      ...process.env,
      LEASH_BUS_FILE: join(dir, 'bus.db'),
      LEASH_STORE_FILE: join(dir, 'store.db'),
      NO_COLOR: '1',
    };
    const taskId = 'task-hostile';
    const requested = createEnvelope(
      'leash.tasks.requested.v1',
      { agent: 'support', input: HOSTILE, metadata: {} },
      { source: 'upstream', tenantId: 'acme', taskId },
    );
    const finished = createEnvelope(
      'leash.tasks.finished.v1',
      {
        taskId,
        agent: { name: 'support', version: 1 },
        status: 'succeeded',
        reason: HOSTILE,
        result: HOSTILE,
        trajectory: [{ step: 1, kind: 'plan', summary: HOSTILE, at: '2030-01-01T00:00:01Z' }],
        cost: { usdMicros: 0, inputTokens: 0, outputTokens: 0, toolCalls: 0 },
        versions: {},
        startedAt: '2030-01-01T00:00:00Z',
        finishedAt: '2030-01-01T00:01:00Z',
      },
      { source: 'planner', tenantId: 'acme', taskId },
    );
    const engines = await openEngines(loadConfig(BASE_ENV, { env }), { source: 'e2e' });
    try {
      await engines.bus.publish('tasks.requested', requested);
      await engines.bus.publish('tasks.finished', finished);
      const recorder = new AuditRecorder({ bus: engines.bus, store: engines.store });
      await recorder.record('tasks.requested', requested);
      await recorder.record('tasks.finished', finished);
    } finally {
      await engines.close();
    }

    const watched = await runLeash(['task', 'watch', taskId, '--timeout', '30000'], env);
    const audited = await runLeash(['audit', taskId], env);
    // No Leash runs here: the watch says no planner consumes the bus, and plays the history back.
    expect(watched.stderr).toMatch(/^leash task watch: no planner is consuming /);
    expect(audited.stderr).toBe('');
    for (const run of [watched, audited]) {
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(SHOWN);
      expect(run.stdout).not.toMatch(UNSAFE);
      // The injected newline starts no line of its own.
      expect(run.stdout).not.toMatch(/^FAKE/m);
    }
  });
});
