import { systemClock } from '@leash/clock';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BASE_ENV, loadConfig } from '@leash/config';
import { openEngines, type Engines } from '@leash/engines';
import { waitFor } from '@leash/testing';
import { ActionRun } from '../execution/execution.aggregates';
import { IdempotencyRecord, Ticket } from '../tools/backends/backend.aggregates';
import { BusObserver } from './bus-observer';
import { PUBLIC_KEYS, engineFiles, fundedAction, gateSigners, tempDir } from './execution-harness';

const ROOT = resolve(__dirname, '../../../..');
const SLOW_START = { timeoutMs: 45_000 }; // a child process compiles TypeScript on start

/**
 * THE crash test: an executor process is killed with SIGKILL after the
 * tool's side effect committed and before the executor recorded the result.
 * The action's event was never committed on the bus, so a restarted
 * executor receives it again, finds the run started, and calls the tool
 * again with the same idempotency key: the backend returns the first result,
 * and the effect has happened once in total.
 */
describe('an executor killed between the side effect and its commit', () => {
  let dir: ReturnType<typeof tempDir>;
  let engines: Engines | undefined;
  const observer = new BusObserver();
  const children: ChildProcess[] = [];

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await observer.stop();
    await engines?.close();
    dir?.remove();
  });

  function startExecutor(
    block: boolean,
    effectLog: string,
  ): { child: ChildProcess; ready: () => boolean } {
    const files = engineFiles(dir.dir);
    const args = {
      busFile: files.bus,
      storeFile: files.store,
      effectLog,
      block,
      publicKeys: PUBLIC_KEYS,
    };
    const child = spawn(
      process.execPath,
      ['-r', '@swc-node/register', join(__dirname, 'executor.fixture.ts'), JSON.stringify(args)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } },
    );
    children.push(child);
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (code) => {
      if (code) process.stderr.write(`executor fixture exited with ${code}:\n${err}\n`);
    });
    return { child, ready: () => out.split('\n').includes('ready') };
  }

  const exited = (child: ChildProcess) =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((done) => child.once('exit', () => done()));

  const effects = (log: string) =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter((line) => line.length > 0)
      : [];

  it('runs the tool once in total', async () => {
    dir = tempDir();
    const effectLog = join(dir.dir, 'effects.log');
    const files = engineFiles(dir.dir);
    engines = await openEngines(
      loadConfig(BASE_ENV, {
        env: { LEASH_BUS_FILE: files.bus, LEASH_STORE_FILE: files.store, LEASH_PARTITIONS: '4' },
      }),
      { source: 'crash-test' },
    );
    await observer.start(engines.bus, ['actions.completed', 'actions.rejected', 'usage.recorded']);

    const first = startExecutor(true, effectLog);
    await waitFor(first.ready, { ...SLOW_START, description: 'the first executor to start' });

    const clock = systemClock;
    const event = fundedAction({ signers: gateSigners(), clock });
    const { actionId } = event.data;
    await engines.bus.publish('actions.funded', event);

    await waitFor(() => effects(effectLog).length === 1, {
      ...SLOW_START,
      description: 'the side effect of the first run',
    });
    first.child.kill('SIGKILL');
    await exited(first.child);

    // Killed after the effect, before the commit: the ticket exists, the run is only started.
    const store = engines.store;
    expect(await store.repository(Ticket).count({ where: { actionId } })).toBe(1);
    expect((await store.repository(ActionRun).get(actionId))?.doc).toMatchObject({
      status: 'started',
      starts: 1,
    });
    expect(observer.about('leash.actions.completed.v1', actionId)).toEqual([]);

    const second = startExecutor(false, effectLog);
    await waitFor(second.ready, { ...SLOW_START, description: 'the restarted executor' });
    const [completed] = await waitFor(
      () => {
        const found = observer.about('leash.actions.completed.v1', actionId);
        return found.length > 0 ? found : undefined;
      },
      { ...SLOW_START, description: 'the completion after the restart' },
    );

    // The tool was called twice, by two processes, with one idempotency key...
    const lines = effects(effectLog);
    expect(lines).toHaveLength(2);
    expect(new Set(lines.map((line) => line.split(' ')[1]))).toEqual(new Set([actionId]));
    expect(new Set(lines.map((line) => line.split(' ')[0])).size).toBe(2);
    // ...and the effect happened once.
    expect(await store.repository(Ticket).count({ where: { actionId } })).toBe(1);
    expect(await store.repository(Ticket).count()).toBe(1);
    expect(await store.repository(IdempotencyRecord).count({ where: { actionId } })).toBe(1);
    const ticketId = JSON.parse(completed!.data.output!).ticketId;
    expect((await store.repository(Ticket).find())[0]?.doc.ticketId).toBe(ticketId);
    expect((await store.repository(ActionRun).get(actionId))?.doc).toMatchObject({
      status: 'completed',
      starts: 2,
    });
    expect(completed!.data).toMatchObject({ status: 'succeeded', replayed: false });
    await waitFor(() => observer.about('leash.usage.recorded.v1', actionId).length === 1, {
      description: 'one usage record',
    });
    expect(observer.about('leash.actions.completed.v1', actionId)).toHaveLength(1);

    second.child.kill('SIGTERM');
    await exited(second.child);
    expect(second.child.exitCode).toBe(0);
  });
});
