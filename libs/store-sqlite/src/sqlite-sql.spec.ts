import { z } from 'zod';
import { defineAggregate, planQuery } from '@leash/store';
import Database from 'better-sqlite3';
import {
  addColumnSql,
  backfillColumnsSql,
  createIndexSql,
  indexValueOf,
  insertSql,
  queryParams,
  querySql,
  updateSql,
} from './sqlite-sql';

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
  it('keeps each indexed field in a plain column filled from the body, ending each index with id', () => {
    expect(flat(addColumnSql(approvals, 'status'))).toBe(
      'ALTER TABLE "agg_approval" ADD COLUMN "ix_status"',
    );
    expect(flat(backfillColumnsSql(approvals, ['status', 'urgent']))).toBe(
      `UPDATE "agg_approval" SET "ix_status" = json_extract(body, '$.status'), "ix_urgent" = json_extract(body, '$.urgent')`,
    );
    expect(flat(createIndexSql(approvals, ['tenantId', 'status']))).toBe(
      'CREATE INDEX IF NOT EXISTS "agg_approval__tenantId__status" ON "agg_approval" ("ix_tenantId", "ix_status", id)',
    );
  });

  it('writes a column what json_extract reads from the body, and updates only the columns given', () => {
    const doc = { status: 'waiting', urgent: true, count: 3, tags: ['a'], note: null };
    const db = new Database(':memory:');
    try {
      const extract = db.prepare("SELECT json_extract(?, '$.' || ?)").pluck();
      for (const field of ['status', 'urgent', 'count', 'tags', 'note', 'missing']) {
        expect(indexValueOf(doc, field)).toEqual(extract.get(JSON.stringify(doc), field));
      }
    } finally {
      db.close();
    }
    expect(flat(insertSql(approvals, ['tenantId', 'status']))).toBe(
      'INSERT INTO "agg_approval" (id, version, body, "ix_tenantId", "ix_status") VALUES (?, 1, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
    );
    expect(flat(updateSql(approvals, ['status']))).toBe(
      'UPDATE "agg_approval" SET version = version + 1, body = ?, "ix_status" = ? WHERE id = ?',
    );
    expect(flat(updateSql(approvals, []))).toBe(
      'UPDATE "agg_approval" SET version = version + 1, body = ? WHERE id = ?',
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
