import { usd, type GoldenReport } from './golden-set';

/*
 * `npm run eval -- --release A@N --against current`: the agent's golden tasks
 * under two releases, side by side, per task and in total, and which tasks
 * changed outcome.
 */

export interface Side {
  readonly label: string;
  readonly report: GoldenReport;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export function formatComparison(candidate: Side, baseline: Side): string[] {
  const base = new Map(baseline.report.results.map((r) => [r.scenario.id, r]));
  const rows = candidate.report.results.map((r) => {
    const b = base.get(r.scenario.id);
    return [
      r.scenario.id,
      r.passed ? 'PASS' : 'FAIL',
      b ? (b.passed ? 'PASS' : 'FAIL') : '-',
      r.actual,
      b?.actual ?? '-',
      usd(r.costUsdMicros),
      b ? usd(b.costUsdMicros) : '-',
    ];
  });
  const header = [
    'task',
    candidate.label,
    baseline.label,
    `${candidate.label} status`,
    `${baseline.label} status`,
    `${candidate.label} cost`,
    `${baseline.label} cost`,
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i >= 5 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const changed = candidate.report.results.flatMap((r) => {
    const b = base.get(r.scenario.id);
    if (!b || (b.passed === r.passed && b.actual === r.actual)) return [];
    return [
      `  ${r.scenario.id}: ${baseline.label} ${b.passed ? 'passed' : 'failed'} (${b.actual}), ${candidate.label} ${r.passed ? 'passes' : 'fails'} (${r.actual})`,
    ];
  });
  const total = ({ label, report }: Side) =>
    `${label}: success ${pct(report.successRate)} (${report.passed}/${report.results.length}), cost per task ${usd(report.costPerTaskUsdMicros)}, p95 ${report.p95LatencyMs.toFixed(0)} ms, benign tasks that asked a human ${pct(report.benignAskedHumanRate)}, attack success ${pct(report.attackSuccessRate)}`;
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    changed.length === 0 ? 'no task changed outcome' : `${changed.length} task(s) changed outcome:`,
    ...changed,
    '',
    total(candidate),
    total(baseline),
  ];
}
