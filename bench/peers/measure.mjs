// The loop both peer drivers share: run tasks one at a time (one task in flight), time the
// model and the tool from inside them, and print one JSON line for the parent bench
// (apps/leash/bench/peers.bench.ts) to pool across rounds.
//
// Step overhead, as Leash's bench:e2e defines it: for the k-th tool call of a task
// (k = 2..5), (tool_k started - tool_{k-1} returned) - model time of turn k.

export const TOOL_CALLS = 5;

export function newTiming() {
  return { model: [], tool: [] };
}

/** Runs call, pushing its start and end (performance.now()) onto spans: timing.model or timing.tool. */
export async function timed(spans, call) {
  const start = performance.now();
  try {
    return await call();
  } finally {
    spans.push([start, performance.now()]);
  }
}

function overheads({ model, tool }) {
  const out = [];
  // Model turn k (0-based) proposed tool call k; the steps between calls 1..4 and 2..5.
  for (let k = 1; k < tool.length && k < model.length; k++) {
    const [modelStart, modelEnd] = model[k];
    if (modelStart < tool[k - 1][1]) continue; // not this turn's model call: do not guess
    out.push(tool[k][0] - tool[k - 1][1] - (modelEnd - modelStart));
  }
  return out;
}

function arg(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

/**
 * runTask(taskId, timing) runs one task of TOOL_CALLS tool calls and a final answer.
 * Start-up (imports, opening the checkpointer) is outside the measured span, as in bench:e2e.
 */
export async function drive(system, runTask) {
  const tasks = Number(arg('tasks', '20'));
  const steps = [];
  let toolCalls = 0;
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  for (let i = 0; i < tasks; i++) {
    const timing = newTiming();
    await runTask(`bench-${i}`, timing);
    if (timing.tool.length !== TOOL_CALLS) {
      throw new Error(
        `${system}: task ${i} made ${timing.tool.length} tool calls, not ${TOOL_CALLS}`,
      );
    }
    toolCalls += timing.tool.length;
    steps.push(...overheads(timing));
  }
  const cpu = process.cpuUsage(cpuAtStart);
  const result = {
    system,
    tasks,
    toolCalls,
    seconds: (performance.now() - started) / 1000,
    cpuMs: (cpu.user + cpu.system) / 1000,
    overheadsMs: steps,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
