import { Caps } from '@leash/agents';
import {
  CAP,
  actionActuals,
  actionCapLines,
  alarmKey,
  alarmsCrossed,
  book,
  capNeedingAmount,
  capRefusalReason,
  chargeInFull,
  decideCaps,
  formatQuantity,
  modelActuals,
  modelCapLines,
  overrun,
  reserve,
  settle,
  usedOf,
  type CapCheck,
  type CapLine,
  type Tallies,
} from './budget-rules';

const caps = Caps.parse({
  task: { tokens: 10_000, toolCalls: 3, wallClockMs: 60_000, usd: 1 },
  tenantDay: {
    usd: 100,
    classes: {
      purchase_order: { perActionUsd: 10_000, amountUsd: 50_000, count: 200 },
      ticket: { count: 2 },
    },
  },
});

const checked = (lines: CapLine[], used: Record<string, number> = {}): CapCheck[] =>
  lines.map((line) => ({ ...line, used: used[line.cap] ?? 0 }));

describe('cap lines', () => {
  it('checks a model call against task tokens, wall clock, task dollars and the tenant day', () => {
    const lines = modelCapLines(caps, 1_500, 2_000);
    expect(lines.map((l) => [l.cap, l.limit, l.amount])).toEqual([
      ['task.tokens', 10_000, 2_000],
      ['task.wall_clock_ms', 60_000, 0],
      ['task.usd', 1_000_000, 1_500],
      ['tenant.day.usd', 100_000_000, 1_500],
    ]);
  });

  it('checks an action against the per-action amount first, then a tool call, then its class per day', () => {
    const lines = actionCapLines(caps, 'purchase_order', 9_000_000_000);
    expect(lines.map((l) => [l.cap, l.limit, l.amount])).toEqual([
      ['action.class.purchase_order.amount', 10_000_000_000, 9_000_000_000],
      ['task.tool_calls', 3, 1],
      ['task.wall_clock_ms', 60_000, 0],
      ['task.usd', 1_000_000, 0],
      ['tenant.day.class.purchase_order.count', 200, 1],
      ['tenant.day.class.purchase_order.amount', 50_000_000_000, 9_000_000_000],
      ['tenant.day.usd', 100_000_000, 0],
    ]);
  });

  it('counts a class without caps but sets it no limit', () => {
    const lines = actionCapLines(caps, 'inventory_read', 0);
    const count = lines.find((l) => l.cap === CAP.classCount('inventory_read'))!;
    expect(count).toEqual({
      cap: 'tenant.day.class.inventory_read.count',
      scope: 'tenant_day',
      measure: 'count',
      amount: 1,
    });
    expect(lines.some((l) => l.scope === 'action')).toBe(false);
  });

  it('names the amount cap an action without an amount cannot be held to', () => {
    expect(capNeedingAmount(caps, 'purchase_order', undefined)).toBe(
      'action.class.purchase_order.amount',
    );
    expect(capNeedingAmount(caps, 'purchase_order', 5)).toBeUndefined();
    expect(capNeedingAmount(caps, 'ticket', undefined)).toBeUndefined();
  });
});

describe('decideCaps', () => {
  it('grants what fits exactly and refuses one unit more, naming the cap', () => {
    const lines = actionCapLines(caps, 'purchase_order', 5_000_000_000);
    const full = { 'tenant.day.class.purchase_order.amount': 45_000_000_000 };
    expect(decideCaps(checked(lines, full))).toEqual({ granted: true });
    const over = { 'tenant.day.class.purchase_order.amount': 45_000_000_001 };
    const verdict = decideCaps(checked(lines, over));
    expect(verdict.granted).toBe(false);
    expect(!verdict.granted && verdict.stoppedBy.cap).toBe(
      'tenant.day.class.purchase_order.amount',
    );
  });

  it('refuses a single action above the per-action limit, whatever the day has left', () => {
    const verdict = decideCaps(checked(actionCapLines(caps, 'purchase_order', 10_000_000_001)));
    expect(!verdict.granted && verdict.stoppedBy.cap).toBe('action.class.purchase_order.amount');
  });

  it('refuses the tool call past the task cap, and the count past the class cap', () => {
    const ticket = actionCapLines(caps, 'ticket', 0);
    expect(decideCaps(checked(ticket, { 'task.tool_calls': 2 })).granted).toBe(true);
    const calls = decideCaps(checked(ticket, { 'task.tool_calls': 3 }));
    expect(!calls.granted && calls.stoppedBy.cap).toBe('task.tool_calls');
    const count = decideCaps(checked(ticket, { 'tenant.day.class.ticket.count': 2 }));
    expect(!count.granted && count.stoppedBy.cap).toBe('tenant.day.class.ticket.count');
  });

  it('refuses model calls past the task tokens, task dollars or the tenant day dollars', () => {
    const lines = modelCapLines(caps, 10_000, 1_000);
    const cases: [Record<string, number>, string][] = [
      [{ 'task.tokens': 9_001 }, 'task.tokens'],
      [{ 'task.usd': 990_001 }, 'task.usd'],
      [{ 'tenant.day.usd': 99_990_001 }, 'tenant.day.usd'],
    ];
    for (const [used, cap] of cases) {
      const verdict = decideCaps(checked(lines, used));
      expect(!verdict.granted && verdict.stoppedBy.cap).toBe(cap);
    }
  });

  it('refuses once the wall clock has run out, whatever is reserved', () => {
    const lines = modelCapLines(caps, 0, 0);
    expect(decideCaps(checked(lines, { 'task.wall_clock_ms': 60_000 })).granted).toBe(true);
    const late = decideCaps(checked(lines, { 'task.wall_clock_ms': 60_001 }));
    expect(!late.granted && late.stoppedBy.cap).toBe('task.wall_clock_ms');
  });

  it('refuses everything of a zero cap except nothing at all', () => {
    const zero = Caps.parse({ ...caps, task: { ...caps.task, usd: 0 } });
    expect(decideCaps(checked(modelCapLines(zero, 1, 1))).granted).toBe(false);
    expect(decideCaps(checked(modelCapLines(zero, 0, 1))).granted).toBe(true);
  });
});

describe('tallies', () => {
  const lines = modelCapLines(caps, 2_000, 1_000).filter((l) => l.measure !== 'elapsed');

  it('counts reserved and settled against the cap', () => {
    const reserved = reserve({}, lines);
    expect(reserved['task.tokens']).toEqual({ reserved: 1_000, settled: 0 });
    expect(usedOf(reserved, 'task.usd')).toBe(2_000);
  });

  it('settles at the actual usage and releases the rest of the reservation', () => {
    const settled = settle(reserve({}, lines), lines, modelActuals(400, 700, 0));
    expect(settled['task.tokens']).toEqual({ reserved: 0, settled: 400 });
    expect(settled['task.usd']).toEqual({ reserved: 0, settled: 700 });
    expect(usedOf(settled, 'tenant.day.usd')).toBe(700);
  });

  it('books more than reserved when the call used more', () => {
    const settled = settle(reserve({}, lines), lines, modelActuals(1_500, 3_000, 2_500));
    expect(usedOf(settled, 'task.tokens')).toBe(1_500);
    expect(usedOf(settled, 'task.usd')).toBe(3_000);
  });

  it('charges an unsettled reservation in full', () => {
    const charged = settle(reserve({}, lines), lines, chargeInFull(lines));
    expect(charged['task.tokens']).toEqual({ reserved: 0, settled: 1_000 });
    expect(charged['tenant.day.usd']).toEqual({ reserved: 0, settled: 2_000 });
  });

  it('keeps the money an action moved when it settles, and books the run cost as spend', () => {
    const order = actionCapLines(caps, 'purchase_order', 9_000_000_000).filter(
      (l) => l.scope !== 'action' && l.measure !== 'elapsed',
    );
    const settled = settle(reserve({}, order), order, actionActuals(9_000_000_000, 25, 0));
    expect(usedOf(settled, 'tenant.day.class.purchase_order.amount')).toBe(9_000_000_000);
    expect(usedOf(settled, 'tenant.day.class.purchase_order.count')).toBe(1);
    expect(usedOf(settled, 'task.tool_calls')).toBe(1);
    expect(usedOf(settled, 'task.usd')).toBe(25);
  });

  it('adds only the overrun of usage reported after a full charge', () => {
    const actuals = modelActuals(1_200, 1_000, 0);
    expect(overrun(lines, actuals)).toMatchObject({ tokens: 200, usd: 0 });
    const tallies: Tallies = { 'task.tokens': { reserved: 0, settled: 1_000 } };
    expect(book(tallies, lines, overrun(lines, actuals))['task.tokens']).toEqual({
      reserved: 0,
      settled: 1_200,
    });
  });
});

describe('alarmsCrossed', () => {
  const fractions = [0.5, 0.8, 1];

  it('fires each fraction reached, smallest first', () => {
    expect(alarmsCrossed(100, 85, fractions, 'task.usd', new Set())).toEqual([0.5, 0.8]);
    expect(alarmsCrossed(100, 49, fractions, 'task.usd', new Set())).toEqual([]);
    expect(alarmsCrossed(100, 100, fractions, 'task.usd', new Set())).toEqual([0.5, 0.8, 1]);
  });

  it('does not fire a fraction already fired in the period', () => {
    const fired = new Set([alarmKey('task.usd', 0.5)]);
    expect(alarmsCrossed(100, 90, fractions, 'task.usd', fired)).toEqual([0.8]);
  });

  it('has nothing to say about a cap with no limit or a zero limit', () => {
    expect(alarmsCrossed(undefined, 90, fractions, 'x', new Set())).toEqual([]);
    expect(alarmsCrossed(0, 90, fractions, 'x', new Set())).toEqual([]);
  });
});

describe('capRefusalReason', () => {
  it('tells the planner which cap, how full, and that splitting or retrying today will not help', () => {
    const check: CapCheck = {
      cap: 'tenant.day.class.purchase_order.amount',
      scope: 'tenant_day',
      measure: 'amount',
      limit: 50_000_000_000,
      amount: 9_000_000_000,
      used: 45_000_000_000,
    };
    expect(
      capRefusalReason(check, { day: '2026-03-01', timeZone: 'Europe/Berlin' }, 'action'),
    ).toBe(
      'Budget cap tenant.day.class.purchase_order.amount: the tenant has used $45,000.00 of $50,000.00 today ' +
        '(2026-03-01, Europe/Berlin) and this action needs $9,000.00 more. ' +
        'Do not retry it today; the cap resets at midnight in the tenant time zone.',
    );
    const single = {
      ...check,
      cap: 'action.class.transfer.amount',
      scope: 'action' as const,
      used: 0,
    };
    expect(capRefusalReason(single, { day: 'x', timeZone: 'UTC' }, 'action')).toContain(
      'Do not split it into smaller actions',
    );
  });
});

describe('formatQuantity', () => {
  it('writes dollars in cents when whole cents, to the micro-dollar otherwise', () => {
    expect(formatQuantity('usd', 45_000_000_000)).toBe('$45,000.00');
    expect(formatQuantity('amount', 1_234_567_890_000)).toBe('$1,234,567.89');
    expect(formatQuantity('usd', 450)).toBe('$0.000450');
    expect(formatQuantity('usd', 0)).toBe('$0.00');
    expect(formatQuantity('tokens', 1_000_000)).toBe('1,000,000 tokens');
    expect(formatQuantity('elapsed', 90_400)).toBe('90 s');
  });
});
