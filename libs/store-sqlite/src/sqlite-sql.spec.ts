import { z } from 'zod';
import { defineAggregate, planQuery } from '@leash/store';
import { addColumnSql, createIndexSql, queryParams, querySql } from './sqlite-sql';

const approvals = defineAggregate({
  name: 'approval',
  schema: z.object({
    approvalId: z.string(),
    tenantId: z.string(),
    status: z.string(),
    requestedAt: z.string(),
    urgent: z.boolean(),
  }),
  id: (a) => a.approvalId,
  indexes: [['tenantId', 'status', 'requestedAt'], 'urgent'],
});

const flat = (sql: string) => sql.replace(/\s+/g, ' ').trim();

describe('sqlite sql', () => {
  it('indexes a generated column over the JSON body, ending each index with id', () => {
    expect(flat(addColumnSql(approvals, 'status'))).toBe(
      `ALTER TABLE "agg_approval" ADD COLUMN "ix_status" GENERATED ALWAYS AS (json_extract(body, '$.status')) VIRTUAL`,
    );
    expect(flat(createIndexSql(approvals, ['tenantId', 'status']))).toBe(
      'CREATE INDEX IF NOT EXISTS "agg_approval__tenantId__status" ON "agg_approval" ("ix_tenantId", "ix_status", id)',
    );
  });

  it('builds "waiting approvals of a tenant, oldest first" with values in order', () => {
    const plan = planQuery(approvals, {
      where: { tenantId: 't1', status: 'waiting', urgent: true },
      range: { field: 'requestedAt', lt: '2030-01-01T00:00:00.000Z' },
      orderBy: 'requestedAt',
      limit: 50,
    });
    expect(querySql(approvals, plan, 'find')).toBe(
      'SELECT id, version, body FROM "agg_approval" WHERE "ix_status" = ? AND "ix_tenantId" = ? AND "ix_urgent" = ? AND "ix_requestedAt" < ? ORDER BY "ix_requestedAt" ASC, id ASC LIMIT ?',
    );
    expect(queryParams(plan, 'find')).toEqual(['waiting', 't1', 1, '2030-01-01T00:00:00.000Z', 50]);
    expect(queryParams(plan, 'count')).toEqual(['waiting', 't1', 1, '2030-01-01T00:00:00.000Z']);
  });

  it('uses IS NULL and IN without binding nulls', () => {
    const plan = planQuery(approvals, {
      where: { status: ['a', 'b'], tenantId: null },
      order: 'desc',
    });
    expect(querySql(approvals, plan, 'find')).toBe(
      'SELECT id, version, body FROM "agg_approval" WHERE "ix_status" IN (?, ?) AND "ix_tenantId" IS NULL ORDER BY id DESC',
    );
    expect(querySql(approvals, plan, 'count')).toBe(
      'SELECT count(*) AS n FROM "agg_approval" WHERE "ix_status" IN (?, ?) AND "ix_tenantId" IS NULL',
    );
    expect(queryParams(plan, 'find')).toEqual(['a', 'b']);
  });
});
