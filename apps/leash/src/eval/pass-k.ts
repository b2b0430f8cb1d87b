import type { GoldenReport } from './golden-set';

/*
 * pass^k: a task counts only when it passes every one of k runs, since a
 * model that passes 4 times in 5 is not one to trust with the task. pass^1
 * is the single-run rate, averaged over the k runs.
 */

export interface PassK {
  readonly k: number;
  readonly tasks: number;
  /** The mean over runs of each run's share of passed tasks. */
  readonly passAt1: number;
  /** The share of tasks that passed all k runs. */
  readonly passK: number;
  /** Tasks that passed some runs and failed others: the unreliable ones. */
  readonly flaky: readonly { readonly task: string; readonly passes: number }[];
}

export function passK(runs: readonly GoldenReport[]): PassK {
  if (runs.length === 0) throw new Error('pass^k needs at least one run');
  const passes = new Map<string, number>();
  for (const run of runs) {
    for (const result of run.results) {
      passes.set(
        result.scenario.id,
        (passes.get(result.scenario.id) ?? 0) + (result.passed ? 1 : 0),
      );
    }
  }
  const k = runs.length;
  const tasks = passes.size;
  const passAt1 =
    runs.reduce(
      (sum, run) => sum + (run.results.length === 0 ? 0 : run.passed / run.results.length),
      0,
    ) / k;
  const always = [...passes.values()].filter((n) => n === k).length;
  return {
    k,
    tasks,
    passAt1,
    passK: tasks === 0 ? 0 : always / tasks,
    flaky: [...passes]
      .filter(([, n]) => n > 0 && n < k)
      .map(([task, n]) => ({ task, passes: n }))
      .sort((a, b) => a.task.localeCompare(b.task)),
  };
}

export function formatPassK(result: PassK): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return [
    `pass^1 ${pct(result.passAt1)}, pass^${result.k} ${pct(result.passK)} over ${result.tasks} tasks, ${result.k} runs each`,
    ...result.flaky.map((f) => `  passed ${f.passes} of ${result.k}: ${f.task}`),
  ];
}
