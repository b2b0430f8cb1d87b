import { cpuSecondsFromProcStat, handledByTopic } from './process-meter';

describe('cpuSecondsFromProcStat', () => {
  it('adds utime and stime, counting fields after a name that holds spaces and parentheses', () => {
    const stat =
      '4242 (node (main) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 11 0 100 0 0';
    expect(cpuSecondsFromProcStat(stat)).toBeCloseTo(3.25);
    expect(cpuSecondsFromProcStat(stat, 1000)).toBeCloseTo(0.325);
  });

  it('refuses text that is not a stat line', () => {
    expect(() => cpuSecondsFromProcStat('hello')).toThrow(/not a \/proc\/<pid>\/stat line/);
  });
});

describe('handledByTopic', () => {
  it('sums events and handling time per topic over groups and outcomes', () => {
    const page = [
      '# HELP leash_messages_processed_total Events handled',
      'leash_messages_processed_total{topic="run.budget.requests",group="budget:budget.requests",outcome="ok"} 10',
      'leash_messages_processed_total{topic="run.budget.requests",group="budget:budget.requests",outcome="retry"} 2',
      'leash_message_process_duration_seconds_bucket{le="0.01",topic="run.budget.requests",group="g"} 7',
      'leash_message_process_duration_seconds_sum{topic="run.budget.requests",group="budget:budget.requests"} 0.25',
      'leash_message_process_duration_seconds_count{topic="run.budget.requests",group="budget:budget.requests"} 12',
      'leash_messages_processed_total{topic="run.control",group="budget.control.1",outcome="ok"} 1',
    ].join('\n');
    expect(handledByTopic(page, (t) => t.slice('run.'.length))).toEqual(
      new Map([
        ['budget.requests', { events: 12, seconds: 0.25 }],
        ['control', { events: 1, seconds: 0 }],
      ]),
    );
  });
});
