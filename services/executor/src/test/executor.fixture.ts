/*
 * The executor in a process of its own, for the crash test. Its one argument
 * is JSON (FixtureArgs). It consumes actions on the bus file as the
 * `executor` group and publishes through the store's outbox, like the real
 * service. open_ticket is wrapped: after the backend's side effect has
 * committed it appends a line to `effectLog` (synchronously, so it survives
 * a SIGKILL), and in `block` mode it then waits forever, so the parent can
 * kill it between the effect and the executor's own commit.
 */
import { appendFileSync } from 'node:fs';
import { BASE_ENV, loadConfig } from '@leash/config';
import type { GatePublicKeys } from '@leash/signing';
import { openEngines } from '@leash/engines';
import { OutboxRelay } from '@leash/store';
import { listenOnBus } from '@leash/bus/nest';
import { createExecution } from '../execution/execution.factory';
import { ExecutionModule } from '../execution/execution.module';
import { createToolRegistry } from '../tools/tool-registry';

interface FixtureArgs {
  readonly busFile: string;
  readonly storeFile: string;
  readonly effectLog: string;
  readonly block: boolean;
  /** The parent's test keys: each process of a run makes its own otherwise. */
  readonly publicKeys: GatePublicKeys;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as FixtureArgs;
  const config = loadConfig(BASE_ENV, {
    env: { LEASH_BUS_FILE: args.busFile, LEASH_STORE_FILE: args.storeFile, LEASH_PARTITIONS: '4' },
  });
  const engines = await openEngines(config, { source: 'executor' });
  const registry = createToolRegistry().wrap('open_ticket', (inner) => async (toolArgs, ctx) => {
    const output = await inner(toolArgs, ctx);
    appendFileSync(args.effectLog, `${process.pid} ${ctx.actionId}\n`);
    if (args.block) await new Promise<never>(() => undefined);
    return output;
  });
  const execution = createExecution({
    store: engines.store,
    publicKeys: args.publicKeys,
    registry,
  });
  await execution.backends.seed();
  const relay = new OutboxRelay({
    outbox: engines.store.outbox,
    bus: engines.bus,
    pollIntervalMs: 20,
  });
  relay.start();
  const subscription = await listenOnBus({
    bus: engines.bus,
    group: 'executor',
    module: ExecutionModule.forRunAction(execution.runAction),
    subscribe: { fromBeginning: true },
  });
  process.on('SIGTERM', () => {
    void subscription
      .close()
      .then(() => relay.stop())
      .then(() => engines.close())
      .then(() => process.exit(0));
  });
  process.stdout.write('ready\n');
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
