import { z } from 'zod';
import { defineAggregate, planQuery } from '@leash/store';
import { toMongoQuery } from './mongo-query';

const runs = defineAggregate({
  name: 'run',
  schema: z.object({
    runId: z.string(),
    tenantId: z.string(),
    status: z.string(),
    cost: z.number(),
    startedAt: z.string(),
    flagged: z.boolean(),
  }),
  id: (r) => r.runId,
  indexes: [['tenantId', 'startedAt'], 'status', 'cost', 'flagged'],
});

const translate = (query: Parameters<typeof planQuery>[1]) => toMongoQuery(planQuery(runs, query));

describe('queries as MongoDB filters', () => {
  it('orders by id alone without a filter', () => {
    expect(translate({})).toEqual({ filter: {}, sort: { _id: 1 } });
    expect(translate({ order: 'desc' })).toEqual({ filter: {}, sort: { _id: -1 } });
  });

  it('translates equality, any-of, null and booleans on the indexed copies', () => {
    expect(
      translate({
        where: { tenantId: 't1', status: ['failed', 'killed'], flagged: false, cost: null },
      }),
    ).toEqual({
      filter: {
        'x.cost': { $eq: null },
        'x.flagged': { $eq: false },
        'x.status': { $in: ['failed', 'killed'] },
        'x.tenantId': { $eq: 't1' },
      },
      sort: { _id: 1 },
    });
  });

  it('puts a range and an equality on one field together, and sorts with ties by id', () => {
    expect(
      translate({
        where: { tenantId: 't1' },
        range: {
          field: 'startedAt',
          gte: '2026-12-01T00:00:00.000Z',
          lt: '2026-12-08T00:00:00.000Z',
        },
        orderBy: 'startedAt',
        order: 'desc',
        limit: 5,
      }),
    ).toEqual({
      filter: {
        'x.tenantId': { $eq: 't1' },
        'x.startedAt': { $gte: '2026-12-01T00:00:00.000Z', $lt: '2026-12-08T00:00:00.000Z' },
      },
      sort: { 'x.startedAt': -1, _id: -1 },
      limit: 5,
    });
    expect(
      translate({ where: { cost: 3 }, range: { field: 'cost', gt: 1, lte: 9 } }).filter,
    ).toEqual({
      'x.cost': { $eq: 3, $gt: 1, $lte: 9 },
    });
  });
});
