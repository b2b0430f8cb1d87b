import { Logger } from '@nestjs/common';
import { ConfigError } from '@leash/config';
import { EngineUnavailableError } from '@leash/engines';

export interface ShutdownOptions {
  readonly logger?: Pick<Logger, 'log' | 'error' | 'warn'>;
  readonly signals?: readonly NodeJS.Signals[];
}

/**
 * Runs `stop` on the first SIGINT or SIGTERM, then exits: 0 when it drained
 * cleanly, 1 when it failed. A second signal exits at once, for an operator
 * who will not wait for a stuck handler.
 */
export function stopOnSignal(stop: () => Promise<void>, options: ShutdownOptions = {}): void {
  const logger = options.logger ?? new Logger('leash');
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn(`${signal} again: exiting without draining`);
      process.exit(130);
    }
    stopping = true;
    logger.log(`${signal}: draining consumers, then closing the engines`);
    stop().then(
      () => {
        logger.log('stopped cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error(`shutdown failed: ${describe(error)}`);
        process.exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, onSignal);
}

/**
 * Reports a failed start and exits 1. A bad environment or an unavailable
 * engine is the operator's to fix: its message is enough, a stack trace is noise.
 */
export function exitOnStartupError(error: unknown): never {
  if (error instanceof ConfigError || error instanceof EngineUnavailableError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`start-up failed: ${describe(error)}\n`);
  }
  process.exit(1);
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
