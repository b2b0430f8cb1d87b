import {
  cpuBoundTasksPerSecond,
  parseCountList,
  planCapacity,
  tenantCeiling,
} from './capacity-model';

describe('the capacity model', () => {
  const costs = [
    { name: 'planner', cpuMsPerTask: 45 },
    { name: 'budget', cpuMsPerTask: 60 },
  ];

  it('turns a rate into cores, instances at the utilisation target, and partitions', () => {
    // 6,000 tasks/min = 100 tasks/s: planner 4.5 cores, budget 6 cores.
    const plan = planCapacity({ tasksPerMinute: 6_000, costs, utilisation: 0.5 });
    expect(plan.processes).toEqual([
      { name: 'planner', cores: 4.5, instances: 9 },
      { name: 'budget', cores: 6, instances: 12 },
    ]);
    expect(plan.partitions).toBe(24);
    expect(plan.cpuSecondsPerThousandTasks).toBeCloseTo(105);
  });

  it("counts each instance's idle cost against its share of a core, and in the cost", () => {
    const idle = costs.map((c) => ({ ...c, idleCores: 0.1 }));
    const plan = planCapacity({ tasksPerMinute: 6_000, costs: idle, utilisation: 0.5 });
    // 4.5 / (0.5 - 0.1) = 11.25 -> 12; 6 / 0.4 = 15.
    expect(plan.processes.map((p) => p.instances)).toEqual([12, 15]);
    expect(plan.cores).toBeCloseTo(10.5 + 2.7);
    expect(plan.cpuSecondsPerThousandTasks).toBeCloseTo(132);
  });

  it('keeps two instances of each kind and eight partitions at the least', () => {
    const plan = planCapacity({ tasksPerMinute: 60, costs });
    expect(plan.processes.map((p) => p.instances)).toEqual([2, 2]);
    expect(plan.partitions).toBe(8);
  });

  it('predicts what a machine finishes when CPU is all that limits', () => {
    expect(cpuBoundTasksPerSecond(costs, 2)).toBeCloseTo(2000 / 105);
    const idle = costs.map((c) => ({ ...c, idleCores: 0.05 }));
    // Four of each kind idle on 0.4 cores: 1.6 are left for the work.
    expect(cpuBoundTasksPerSecond(idle, 2, 4)).toBeCloseTo(1600 / 105);
  });

  it("bounds one tenant by the time one budget decision holds the tenant's partition", () => {
    expect(
      tenantCeiling({ decisionMs: 10, decisionsPerTask: 11, usdPerReservation: 0.02 }),
    ).toEqual({ decisionsPerSecond: 100, tasksPerSecond: 100 / 11, usdPerSecond: 2 });
    expect(
      tenantCeiling({ decisionMs: 10, decisionsPerTask: 10, usdPerReservation: 1, shards: 4 })
        .decisionsPerSecond,
    ).toBe(400);
  });
});

describe('parseCountList', () => {
  it('reads a comma-separated list, ascending and without repeats', () => {
    expect(parseCountList('4,1, 2,2', 'instances', 8)).toEqual([1, 2, 4]);
  });

  it.each(['', '0', '1,,2', '9', '1.5', 'two', '-1'])('refuses %j', (text) => {
    expect(() => parseCountList(text, 'instances', 8)).toThrow(
      /--instances: expected whole numbers from 1 to 8/,
    );
  });
});
