import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { defineEnv, integer, variable } from '@leash/config';

/**
 * Threads `npm start` runs the services on by default: measured on two cores
 * (npm run bench:e2e -- --workers 1,2; figures in the README).
 */
export const DEFAULT_WORKERS = '1';

export const WORKERS_ENV = defineEnv({
  LEASH_WORKERS: variable(
    z
      .string()
      .trim()
      .default(DEFAULT_WORKERS)
      .pipe(z.union([z.literal('auto').transform(() => availableParallelism()), integer(1, 64)])),
    {
      description:
        'Threads `npm start` spreads the five services and the audit recorder over, each with its own connections to the embedded bus and store files: 1 runs them all on the main thread; auto is one per core. Only the embedded engines; more than six leaves the rest idle.',
      expected: 'a whole number from 1 to 64, or auto',
    },
  ),
});
