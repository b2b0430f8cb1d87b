import { telemetry } from './instrument';
import { exitOnStartupError, stopOnSignal } from '@leash/service-runtime';
import { bootstrapApprovals } from './approvals.app';
import { startInbox, type RunningInbox } from './inbox/start-inbox';

// The reviewers' inbox is served beside the service when LEASH_INBOX_PORT is set: on its
// engines, so it reads the service's own store. Spans still buffered are sent after the
// consumers drain, before the process exits.
async function main(): Promise<void> {
  const service = await bootstrapApprovals();
  let inbox: RunningInbox | undefined;
  if (service.config.LEASH_INBOX_PORT !== undefined) {
    inbox = await startInbox({
      bus: service.engines.bus,
      store: service.engines.store,
      config: service.config,
    }).catch(async (error: unknown) => {
      await service.close();
      throw error;
    });
    process.stdout.write(`reviewers' inbox on ${inbox.url}\n`);
  }
  stopOnSignal(() =>
    (inbox?.close() ?? Promise.resolve())
      .then(() => service.close())
      .finally(() => telemetry.shutdown()),
  );
}

main().catch(exitOnStartupError);
