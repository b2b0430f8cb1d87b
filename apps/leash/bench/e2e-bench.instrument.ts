import { BroadcastChannel } from 'node:worker_threads';
import { EXECUTION, type Execution } from '@leash/service-executor';
import { AGENT_LOOP, type AgentLoop, type ModelPort } from '@leash/service-planner';
import type { LeashShare } from '../src/start';

/*
 * bench:e2e's instruments, in whichever thread of the launcher runs the
 * planner and the executor (LEASH_WORKERS): the model adapter and the tool,
 * timed with performance.now() against the process's time origin, so times
 * taken in different threads compare. A worker sends each timing to the
 * bench's thread over a BroadcastChannel; the bench's own thread hands them
 * over directly.
 */

export const TIMED_TOOL = 'search_kb';
const CHANNEL = 'leash:e2e-bench:timings';

/** One model call or tool run of a task, in ms since the process's time origin. */
export type Timed = readonly [taskId: string, what: 'model' | 'tool', start: number, end: number];

let local: ((timed: Timed) => void) | undefined;
let channel: BroadcastChannel | undefined;

/** In the bench's thread: receives every thread's timings until the returned stop. */
export function collectTimings(sink: (timed: Timed) => void): () => void {
  local = sink;
  const listening = new BroadcastChannel(CHANNEL);
  listening.onmessage = (event) => sink((event as { data: Timed }).data);
  listening.unref();
  return () => {
    local = undefined;
    listening.close();
  };
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

function report(timed: Timed): void {
  if (local) return local(timed);
  channel ??= new BroadcastChannel(CHANNEL);
  channel.unref();
  channel.postMessage(timed);
}

/** Wraps the model adapter and the tool of the services this thread runs. */
export function instrumentThread(share: LeashShare): void {
  for (const service of share.services) {
    if (service.name === 'planner') {
      const loop = service.app.get<AgentLoop>(AGENT_LOOP);
      const inner = loop.deps.model;
      const timed: ModelPort = {
        ...inner,
        complete: async (request) => {
          const start = now();
          try {
            return await inner.complete(request);
          } finally {
            if (request.task) report([request.task.taskId, 'model', start, now()]);
          }
        },
      };
      (loop.deps as { model: ModelPort }).model = timed;
    }
    if (service.name === 'executor') {
      service.app
        .get<Execution>(EXECUTION)
        .registry.wrap(TIMED_TOOL, (run) => async (args, ctx) => {
          const start = now();
          try {
            return await run(args, ctx);
          } finally {
            report([ctx.taskId, 'tool', start, now()]);
          }
        });
    }
  }
}
