import type { Caps } from '@leash/agents';
import type { BudgetAlarmV1 } from '@leash/contracts';

/*
 * The budget's rules, in one place and without I/O: which caps a request is
 * checked against, whether it fits, what settlement books, and which alarms
 * a change fires. The use cases read and write the ledger around these.
 */

export type CapScope = BudgetAlarmV1['scope'];
export type CapUnit = BudgetAlarmV1['unit'];

/** What a cap counts; `elapsed` is measured (wall clock), everything else is booked. */
export type Measure = 'tokens' | 'usd' | 'tool_calls' | 'count' | 'amount' | 'elapsed';
export type BookedMeasure = Exclude<Measure, 'elapsed'>;

const UNIT_OF: Record<Measure, CapUnit> = {
  tokens: 'tokens',
  usd: 'usd_micros',
  amount: 'usd_micros',
  tool_calls: 'tool_calls',
  count: 'count',
  elapsed: 'ms',
};

export function unitOf(measure: Measure): CapUnit {
  return UNIT_OF[measure];
}

/** Cap names: they appear in rejections, decisions and alarms, so operators and planners read them. */
export const CAP = {
  taskTokens: 'task.tokens',
  taskToolCalls: 'task.tool_calls',
  taskWallClock: 'task.wall_clock_ms',
  taskUsd: 'task.usd',
  tenantDayUsd: 'tenant.day.usd',
  classCount: (actionClass: string) => `tenant.day.class.${actionClass}.count`,
  classAmount: (actionClass: string) => `tenant.day.class.${actionClass}.amount`,
  perAction: (actionClass: string) => `action.class.${actionClass}.amount`,
} as const;

/** One cap a request is checked against, and what the request would add to it. */
export interface CapLine {
  readonly cap: string;
  readonly scope: CapScope;
  readonly measure: Measure;
  /** Absent when the profile sets no such cap: the ledger still counts it. */
  readonly limit?: number;
  /** What the request reserves against the cap. */
  readonly amount: number;
}

/** A line with what is already used against its cap (reserved + settled, or time elapsed). */
export interface CapCheck extends CapLine {
  readonly used: number;
}

/** Booked lines are tallied in a counter; the per-action cap and the wall clock are checked alone. */
export function isBooked(line: CapLine): boolean {
  return line.scope !== 'action' && line.measure !== 'elapsed';
}

export function usdToMicros(usd: number): number {
  return Math.round(usd * 1_000_000);
}

/** The caps a model call is checked against. */
export function modelCapLines(caps: Caps, usdMicros: number, tokens: number): CapLine[] {
  return [
    {
      cap: CAP.taskTokens,
      scope: 'task',
      measure: 'tokens',
      limit: caps.task.tokens,
      amount: tokens,
    },
    {
      cap: CAP.taskWallClock,
      scope: 'task',
      measure: 'elapsed',
      limit: caps.task.wallClockMs,
      amount: 0,
    },
    {
      cap: CAP.taskUsd,
      scope: 'task',
      measure: 'usd',
      limit: usdToMicros(caps.task.usd),
      amount: usdMicros,
    },
    {
      cap: CAP.tenantDayUsd,
      scope: 'tenant_day',
      measure: 'usd',
      limit: usdToMicros(caps.tenantDay.usd),
      amount: usdMicros,
    },
  ];
}

/**
 * The caps an action is checked against: one tool call, its class's count,
 * and the money it moves against its class's amount caps (per action and
 * per day). Dollars of the task and the tenant's day count spend (model
 * calls, tool runs), not money moved: the action adds nothing to them now,
 * but is refused once they are spent. Most specific first, so a refusal
 * names the narrowest cap that stopped it.
 */
export function actionCapLines(caps: Caps, actionClass: string, amountMicros: number): CapLine[] {
  const cls = caps.tenantDay.classes[actionClass] ?? {};
  const micros = (usd: number | undefined) => (usd === undefined ? undefined : usdToMicros(usd));
  const lines: CapLine[] = [];
  if (cls.perActionUsd !== undefined) {
    lines.push({
      cap: CAP.perAction(actionClass),
      scope: 'action',
      measure: 'amount',
      limit: micros(cls.perActionUsd),
      amount: amountMicros,
    });
  }
  lines.push(
    {
      cap: CAP.taskToolCalls,
      scope: 'task',
      measure: 'tool_calls',
      limit: caps.task.toolCalls,
      amount: 1,
    },
    {
      cap: CAP.taskWallClock,
      scope: 'task',
      measure: 'elapsed',
      limit: caps.task.wallClockMs,
      amount: 0,
    },
    {
      cap: CAP.taskUsd,
      scope: 'task',
      measure: 'usd',
      limit: usdToMicros(caps.task.usd),
      amount: 0,
    },
    {
      cap: CAP.classCount(actionClass),
      scope: 'tenant_day',
      measure: 'count',
      limit: cls.count,
      amount: 1,
    },
    {
      cap: CAP.classAmount(actionClass),
      scope: 'tenant_day',
      measure: 'amount',
      limit: micros(cls.amountUsd),
      amount: amountMicros,
    },
    {
      cap: CAP.tenantDayUsd,
      scope: 'tenant_day',
      measure: 'usd',
      limit: usdToMicros(caps.tenantDay.usd),
      amount: 0,
    },
  );
  return lines.map((line) => (line.limit === undefined ? withoutLimit(line) : line));
}

function withoutLimit(line: CapLine): CapLine {
  const { limit: _limit, ...rest } = line;
  return rest;
}

/**
 * An action of a class with an amount cap must say how much it moves: a
 * missing amount cannot be bounded, so it is refused rather than counted as
 * zero. Returns the cap that needs the amount, or undefined.
 */
export function capNeedingAmount(
  caps: Caps,
  actionClass: string,
  amountMicros: number | undefined,
): string | undefined {
  if (amountMicros !== undefined) return undefined;
  const cls = caps.tenantDay.classes[actionClass];
  if (cls?.perActionUsd !== undefined) return CAP.perAction(actionClass);
  if (cls?.amountUsd !== undefined) return CAP.classAmount(actionClass);
  return undefined;
}

export type CapVerdict =
  { readonly granted: true } | { readonly granted: false; readonly stoppedBy: CapCheck };

/** A request fits when every capped line stays within its limit; the first that would not names the refusal. */
export function decideCaps(checks: readonly CapCheck[]): CapVerdict {
  for (const check of checks) {
    if (check.limit !== undefined && check.used + check.amount > check.limit) {
      return { granted: false, stoppedBy: check };
    }
  }
  return { granted: true };
}

// ------------------------------------------------------------------ tallies

/** Reserved and settled amounts of one cap in one period; both count against the cap. */
export interface Tally {
  readonly reserved: number;
  readonly settled: number;
}
export type Tallies = Readonly<Record<string, Tally>>;

const EMPTY: Tally = { reserved: 0, settled: 0 };

export function usedOf(tallies: Tallies, cap: string): number {
  const tally = tallies[cap] ?? EMPTY;
  return tally.reserved + tally.settled;
}

/** Adds each line's amount to its cap's reserved total. */
export function reserve(tallies: Tallies, lines: readonly CapLine[]): Tallies {
  const next: Record<string, Tally> = { ...tallies };
  for (const line of lines) {
    const tally = next[line.cap] ?? EMPTY;
    next[line.cap] = { reserved: tally.reserved + line.amount, settled: tally.settled };
  }
  return next;
}

/** What a reservation actually used, per measure. */
export type Actuals = Readonly<Record<BookedMeasure, number>>;

/** Moves each line from reserved to settled at its actual amount: the rest of the reservation is released. */
export function settle(tallies: Tallies, lines: readonly CapLine[], actuals: Actuals): Tallies {
  const next: Record<string, Tally> = { ...tallies };
  for (const line of lines) {
    if (line.measure === 'elapsed') continue;
    const tally = next[line.cap] ?? EMPTY;
    next[line.cap] = {
      reserved: Math.max(0, tally.reserved - line.amount),
      settled: tally.settled + actuals[line.measure],
    };
  }
  return next;
}

/** A reservation of an action that never ran: everything reserved is released, nothing spent. */
export const NOTHING_SPENT: Actuals = { tokens: 0, usd: 0, tool_calls: 0, count: 0, amount: 0 };

/** An unsettled reservation charged at its deadline: everything reserved is booked as spent. */
export function chargeInFull(lines: readonly CapLine[]): Actuals {
  const actuals: Record<BookedMeasure, number> = {
    tokens: 0,
    usd: 0,
    tool_calls: 0,
    count: 0,
    amount: 0,
  };
  for (const line of lines) {
    // Every line of one measure reserves the same amount (e.g. task.usd and tenant.day.usd).
    if (line.measure !== 'elapsed')
      actuals[line.measure] = Math.max(actuals[line.measure], line.amount);
  }
  return actuals;
}

/** What a model call settles to: its real tokens, and the larger of our price and the one reported. */
export function modelActuals(
  tokens: number,
  pricedMicros: number,
  reportedMicros: number,
): Actuals {
  return {
    tokens,
    usd: Math.max(pricedMicros, reportedMicros),
    tool_calls: 0,
    count: 0,
    amount: 0,
  };
}

/**
 * What a tool run settles to: one call, the amount its signed arguments move
 * (a run cannot move a different amount), and the run's own cost as spend.
 */
export function actionActuals(
  amountMicros: number,
  toolCostMicros: number,
  tokens: number,
): Actuals {
  return {
    tokens,
    usd: toolCostMicros,
    tool_calls: 1,
    count: 1,
    amount: amountMicros,
  };
}

/** Usage that arrives after its reservation was already booked in full: only what exceeds the booking is added. */
export function overrun(lines: readonly CapLine[], actuals: Actuals): Actuals {
  const booked = chargeInFull(lines);
  return {
    tokens: Math.max(0, actuals.tokens - booked.tokens),
    usd: Math.max(0, actuals.usd - booked.usd),
    tool_calls: Math.max(0, actuals.tool_calls - booked.tool_calls),
    count: Math.max(0, actuals.count - booked.count),
    amount: Math.max(0, actuals.amount - booked.amount),
  };
}

/** Adds actual usage that had no reservation (or exceeded it) straight to settled. */
export function book(tallies: Tallies, lines: readonly CapLine[], actuals: Actuals): Tallies {
  return settle(
    tallies,
    lines.map((line) => ({ ...line, amount: 0 })),
    actuals,
  );
}

// ------------------------------------------------------------------- alarms

export const alarmKey = (cap: string, fraction: number): string => `${cap}@${fraction}`;

/** The configured fractions this cap has reached and not yet fired in this period, smallest first. */
export function alarmsCrossed(
  limit: number | undefined,
  used: number,
  fractions: readonly number[],
  cap: string,
  fired: ReadonlySet<string>,
): number[] {
  // A zero cap has no fractions to warn at: its refusals say enough.
  if (limit === undefined || limit <= 0) return [];
  return [...new Set(fractions)]
    .filter((fraction) => used >= fraction * limit && !fired.has(alarmKey(cap, fraction)))
    .sort((a, b) => a - b);
}

// ------------------------------------------------------------------ reasons

/** 1234567 -> "1,234,567". Intl's toLocaleString costs more than a whole ledger write on the hot path. */
function grouped(whole: number): string {
  return String(whole).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function usd(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  const fraction = String(micros % 1_000_000).padStart(6, '0');
  // Cents when the amount is whole cents, all six digits when it is not.
  const digits = micros % 10_000 === 0 ? fraction.slice(0, 2) : fraction;
  return `$${grouped(whole)}.${digits}`;
}

/** A quantity in its cap's unit, as a planner or an operator reads it. */
export function formatQuantity(measure: Measure, value: number): string {
  switch (measure) {
    case 'usd':
    case 'amount':
      return usd(value);
    case 'tokens':
      return `${grouped(value)} tokens`;
    case 'tool_calls':
      return `${grouped(value)} tool calls`;
    case 'count':
      return `${grouped(value)} actions`;
    case 'elapsed':
      return `${grouped(Math.round(value / 1000))} s`;
  }
}

export interface PeriodOf {
  readonly day: string;
  readonly timeZone: string;
}

/** Why a request was refused, written for the planner: which cap, how full, and whether waiting helps. */
export function capRefusalReason(
  check: CapCheck,
  period: PeriodOf,
  what: 'action' | 'model call',
): string {
  const q = (value: number) => formatQuantity(check.measure, value);
  const limit = check.limit ?? 0;
  switch (check.scope) {
    case 'action':
      return (
        `Budget cap ${check.cap}: this action moves ${q(check.amount)}, above the per-action limit of ${q(limit)}. ` +
        'Do not split it into smaller actions to get around the limit; ask a human instead.'
      );
    case 'task':
      if (check.measure === 'elapsed') {
        return (
          `Budget cap ${check.cap}: this task has run for ${q(check.used)} of its ${q(limit)} wall-clock budget. ` +
          'Finish the task with what you have or stop.'
        );
      }
      return (
        `Budget cap ${check.cap}: this task has used ${q(check.used)} of ${q(limit)} and this ${what} needs ` +
        `${q(check.amount)} more. Finish the task with what you have or stop.`
      );
    case 'tenant_day':
      return (
        `Budget cap ${check.cap}: the tenant has used ${q(check.used)} of ${q(limit)} today ` +
        `(${period.day}, ${period.timeZone}) and this ${what} needs ${q(check.amount)} more. ` +
        'Do not retry it today; the cap resets at midnight in the tenant time zone.'
      );
  }
}
