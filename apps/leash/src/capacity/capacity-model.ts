/*
 * The capacity model of docs/capacity.md: from what each process costs in
 * CPU per finished task (measured by `npm run bench:kafka:scale`), how many
 * instances of each service and how many partitions per topic a rate of
 * tasks needs, what it costs in CPU-seconds, and how fast one tenant's
 * budget requests can be decided. Arithmetic only: the figures come in.
 */

/** What one kind of process costs, as measured. */
export interface ProcessCost {
  /** `planner`, `policy`, ..., `audit`. */
  readonly name: string;
  /** CPU milliseconds (user + system) per finished task, above what an idle instance uses. */
  readonly cpuMsPerTask: number;
  /** Cores one instance uses with no work (consumer fetch loops, heartbeats, timers). Default 0. */
  readonly idleCores?: number;
}

export interface PlanOptions {
  readonly tasksPerMinute: number;
  readonly costs: readonly ProcessCost[];
  /** The share of a core an instance is planned to use; the rest absorbs bursts. Default 0.6. */
  readonly utilisation?: number;
  /** Partitions per topic as a multiple of the largest consumer group on it. Default 2. */
  readonly partitionHeadroom?: number;
  /** Instances of a kind never fall below this (one to spare for a restart). Default 2. */
  readonly minInstances?: number;
}

export interface ProcessPlan {
  readonly name: string;
  /** Cores the work itself keeps busy at the rate asked for, idle cost apart. */
  readonly cores: number;
  readonly instances: number;
}

export interface CapacityPlan {
  readonly tasksPerMinute: number;
  readonly processes: readonly ProcessPlan[];
  /** Partitions for every topic: the largest group times the headroom, at least 8. */
  readonly partitions: number;
  /** Cores the plan uses on average: the work, and every instance's idle cost. */
  readonly cores: number;
  /** CPU-seconds all the plan's processes spend per 1,000 tasks, idle cost included. */
  readonly cpuSecondsPerThousandTasks: number;
}

/**
 * Single-threaded Node processes: one instance uses at most one core, and
 * is planned to use `utilisation` of it, its idle cost included.
 */
export function planCapacity(options: PlanOptions): CapacityPlan {
  const utilisation = options.utilisation ?? 0.6;
  const headroom = options.partitionHeadroom ?? 2;
  const floor = options.minInstances ?? 2;
  const tasksPerSecond = options.tasksPerMinute / 60;
  const processes = options.costs.map(({ name, cpuMsPerTask, idleCores = 0 }) => {
    const cores = (tasksPerSecond * cpuMsPerTask) / 1000;
    if (idleCores >= utilisation)
      throw new Error(`${name}: idle cost is over the utilisation target`);
    return {
      name,
      cores,
      instances: Math.max(floor, Math.ceil(cores / (utilisation - idleCores))),
    };
  });
  const largest = Math.max(...processes.map((p) => p.instances));
  const cores = processes.reduce(
    (sum, p, i) => sum + p.cores + p.instances * (options.costs[i]!.idleCores ?? 0),
    0,
  );
  return {
    tasksPerMinute: options.tasksPerMinute,
    processes,
    partitions: Math.max(8, largest * headroom),
    cores,
    cpuSecondsPerThousandTasks: (cores * 1000) / tasksPerSecond,
  };
}

/**
 * Tasks per second `cores` can finish when CPU is all that limits: every
 * process shares the cores, so each task's whole cost counts, after what
 * the processes use idle.
 */
export function cpuBoundTasksPerSecond(
  costs: readonly ProcessCost[],
  cores: number,
  instances = 1,
): number {
  const idle = costs.reduce((sum, c) => sum + (c.idleCores ?? 0) * instances, 0);
  const perTask = costs.reduce((sum, c) => sum + c.cpuMsPerTask, 0);
  return (Math.max(0, cores - idle) * 1000) / perTask;
}

export interface TenantCeilingOptions {
  /** One budget decision, from taking the request to publishing the answer, in ms. */
  readonly decisionMs: number;
  /** Budget decisions one task needs (model reservations plus action reservations). */
  readonly decisionsPerTask: number;
  /** The average reservation, in USD. */
  readonly usdPerReservation: number;
  /**
   * Independent budget shards of the tenant (sub-budgets keyed `<tenant>#<n>`,
   * each holding 1/n of every cap). Today 1.
   */
  readonly shards?: number;
}

export interface TenantCeiling {
  readonly decisionsPerSecond: number;
  readonly tasksPerSecond: number;
  readonly usdPerSecond: number;
}

/**
 * One tenant's budget requests share a partition key and are decided one at
 * a time, so a tenant gets at most 1 / decisionMs decisions a second,
 * whatever the number of budget instances.
 */
export function tenantCeiling(options: TenantCeilingOptions): TenantCeiling {
  const decisionsPerSecond = ((options.shards ?? 1) * 1000) / options.decisionMs;
  return {
    decisionsPerSecond,
    tasksPerSecond: decisionsPerSecond / options.decisionsPerTask,
    usdPerSecond: decisionsPerSecond * options.usdPerReservation,
  };
}

/**
 * A list flag such as `--instances 1,2,4`: whole numbers from 1 to `max`,
 * separated by commas, returned ascending without repeats.
 */
export function parseCountList(text: string, flag: string, max: number): number[] {
  const parsed = text.split(',').map((part) => (/^\s*\d+\s*$/.test(part) ? Number(part) : NaN));
  if (parsed.some((n) => !Number.isInteger(n) || n < 1 || n > max)) {
    throw new Error(
      `--${flag}: expected whole numbers from 1 to ${max} separated by commas, got "${text}"`,
    );
  }
  return [...new Set(parsed)].sort((a, b) => a - b);
}
