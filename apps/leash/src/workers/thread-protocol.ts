import type { Environment } from '@leash/config';
import type { ProcessName } from '@leash/engines';

/* What the launcher's main thread and a worker thread say to each other. */

/** What a worker starts with. */
export interface WorkerData {
  readonly env: Environment;
  readonly only: readonly ProcessName[];
  /** A module whose instrumentThread(share) the worker calls once up (a benchmark's). */
  readonly instrument?: string;
}

/** Main to worker. */
export type ThreadRequest =
  | {
      readonly type: 'request';
      readonly id: number;
      readonly what: 'metrics' | 'ping-bus' | 'ping-store';
    }
  | { readonly type: 'stop' };

/** Worker to main. */
export type ThreadReport =
  | { readonly type: 'ready' }
  | { readonly type: 'fatal'; readonly message: string }
  | { readonly type: 'stopped' }
  | { readonly type: 'stop-failed'; readonly message: string }
  | {
      readonly type: 'reply';
      readonly id: number;
      readonly value?: unknown;
      readonly error?: string;
    };
