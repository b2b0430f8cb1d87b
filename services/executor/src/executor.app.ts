import { startService, type BootstrapOptions, type RunningService } from '@leash/service-runtime';
import { ExecutorModule } from './app.module';
import { EXECUTOR, EXECUTOR_ENV, type ExecutorConfig } from './config';

/**
 * Starts the executor service on the bus: standalone (main.ts, own engines) or
 * beside the others on shared engines (the all-in-one launcher).
 */
export function bootstrapExecutor(
  options?: BootstrapOptions,
): Promise<RunningService<ExecutorConfig>> {
  return startService({ name: EXECUTOR, env: EXECUTOR_ENV, module: ExecutorModule }, options);
}
