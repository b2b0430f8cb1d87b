/*
 * What a benchmark reads of a running service process from the outside: the
 * CPU it has used (/proc/<pid>/stat) and the bus counters it serves on
 * /metrics (events handled and the time spent handling them, per topic and
 * consumer group). Parsing only; the benchmark does the reading.
 */

/**
 * CPU-seconds (user + system, all threads) a process has used, from the text
 * of /proc/<pid>/stat: fields 14 and 15, in clock ticks. The command name
 * (field 2) is in parentheses and may hold spaces, so fields are counted
 * from the last `)`.
 */
export function cpuSecondsFromProcStat(stat: string, ticksPerSecond = 100): number {
  const fields = stat
    .slice(stat.lastIndexOf(')') + 2)
    .trim()
    .split(/\s+/);
  // After the name, field 3 (state) is fields[0]: field 14 (utime) is fields[11].
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (fields.length < 13 || !Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 80)}`);
  }
  return (utime + stime) / ticksPerSecond;
}

/** Per topic: events handled and seconds spent handling them, summed over groups and outcomes. */
export interface HandledByTopic {
  readonly events: number;
  readonly seconds: number;
}

/**
 * From a Prometheus text page: `leash_messages_processed_total` (events
 * handled) and `leash_message_process_duration_seconds_sum` (time handling
 * them), per topic, summed over consumer groups and outcomes. `topicOf`
 * maps the label (the topic as on the broker) to the name to count it under,
 * e.g. without the run's prefix.
 */
export function handledByTopic(
  metrics: string,
  topicOf: (name: string) => string = (name) => name,
): Map<string, HandledByTopic> {
  const handled = new Map<string, { events: number; seconds: number }>();
  for (const line of metrics.split('\n')) {
    const match =
      /^(leash_messages_processed_total|leash_message_process_duration_seconds_sum)\{([^}]*)\} (\S+)$/.exec(
        line,
      );
    if (!match) continue;
    const topic = /(?:^|,)topic="([^"]*)"/.exec(match[2]!)?.[1];
    if (topic === undefined) continue;
    const entry = handled.get(topicOf(topic)) ?? { events: 0, seconds: 0 };
    if (match[1] === 'leash_messages_processed_total') entry.events += Number(match[3]);
    else entry.seconds += Number(match[3]);
    handled.set(topicOf(topic), entry);
  }
  return handled;
}
