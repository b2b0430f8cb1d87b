import { z } from 'zod';
import { defineAggregate } from './aggregate';
import { QueryError } from './errors';
import { MAX_FIND_LIMIT, planQuery } from './query';

const reservations = defineAggregate({
  name: 'reservation',
  schema: z.object({
    reservationId: z.string(),
    tenantId: z.string(),
    status: z.string(),
    deadlineAt: z.string(),
    amount: z.number(),
    urgent: z.boolean(),
    note: z.string(),
  }),
  id: (r) => r.reservationId,
  indexes: [['tenantId', 'status', 'deadlineAt'], 'amount', 'urgent'],
});

describe('planQuery', () => {
  it('normalises equality (sorted by field), any-of, null and a range', () => {
    const plan = planQuery(reservations, {
      where: { status: 'open', tenantId: 't1', urgent: null, amount: [1, 2] },
      range: { field: 'deadlineAt', gte: 'a', lt: 'b' },
      orderBy: 'deadlineAt',
      limit: 10,
    });
    expect(plan.conditions).toEqual([
      { op: 'in', field: 'amount', values: [1, 2] },
      { op: 'eq', field: 'status', value: 'open' },
      { op: 'eq', field: 'tenantId', value: 't1' },
      { op: 'null', field: 'urgent' },
      { op: 'gte', field: 'deadlineAt', value: 'a' },
      { op: 'lt', field: 'deadlineAt', value: 'b' },
    ]);
    expect(plan).toMatchObject({ orderBy: 'deadlineAt', descending: false, limit: 10 });
    expect(plan.matchesNothing).toBe(false);
  });

  it('gives one shape per query form, whatever the values or key order', () => {
    const a = planQuery(reservations, { where: { tenantId: 't1', status: 'open' }, limit: 5 });
    const b = planQuery(reservations, { where: { status: 'x', tenantId: 't2' }, limit: 9 });
    const c = planQuery(reservations, { where: { status: 'x', tenantId: 't2' } });
    const d = planQuery(reservations, { where: { amount: [1, 2, 3] } });
    const e = planQuery(reservations, { where: { amount: [1, 2] } });
    expect(a.shape).toBe(b.shape);
    expect(a.shape).not.toBe(c.shape);
    expect(d.shape).not.toBe(e.shape);
    expect(planQuery(reservations).shape).not.toBe(
      planQuery(reservations, { order: 'desc' }).shape,
    );
  });

  it('skips undefined equality values and flags an empty any-of list', () => {
    expect(planQuery(reservations, { where: { tenantId: undefined } }).conditions).toEqual([]);
    expect(planQuery(reservations, { where: { amount: [] } }).matchesNothing).toBe(true);
  });

  it.each([
    [{ where: { note: 'x' } }, /not an indexed field/],
    [{ orderBy: 'note' }, /cannot order by "note"/],
    [{ range: { field: 'note', gt: 1 } }, /cannot range over/],
    [{ range: { field: 'amount' } }, /no bound/],
    [{ range: { field: 'amount', gt: 1, gte: 2 } }, /both gt and gte/],
    [{ range: { field: 'amount', lt: 1, lte: 2 } }, /both lt and lte/],
    [{ range: { field: 'amount', gt: 1, lt: 'z' } }, /mix strings and numbers/],
    [{ range: { field: 'amount', gt: true } }, /string or a finite number/],
    [{ range: { field: 'amount', gt: Number.NaN } }, /string or a finite number/],
    [{ where: { amount: { $gt: 1 } } }, /must equal/],
    [{ where: { amount: [null] } }, /any-of values/],
    [{ limit: 0 }, /limit/],
    [{ limit: 1.5 }, /limit/],
    [{ limit: MAX_FIND_LIMIT + 1 }, /limit/],
    [{ order: 'up' }, /order must be/],
  ])('refuses %j', (query, message) => {
    expect(() => planQuery(reservations, query as never)).toThrow(QueryError);
    expect(() => planQuery(reservations, query as never)).toThrow(message);
  });
});
