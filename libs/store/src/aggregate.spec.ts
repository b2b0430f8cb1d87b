import { z } from 'zod';
import { defineAggregate, prepareDocument, readDocument } from './aggregate';
import { DocumentValidationError, StoreError } from './errors';

const Approval = z.object({
  approvalId: z.string().min(1),
  tenantId: z.string(),
  status: z.enum(['waiting', 'approved']),
  requestedAt: z.iso.datetime(),
  notes: z.array(z.string()).default([]),
});

describe('defineAggregate', () => {
  it('collects the indexed fields of single and compound indexes, once each', () => {
    const approvals = defineAggregate({
      name: 'approval',
      schema: Approval,
      id: (a) => a.approvalId,
      indexes: ['tenantId', ['status', 'requestedAt'], ['tenantId', 'status']],
    });
    expect(approvals.indexes).toEqual([
      ['tenantId'],
      ['status', 'requestedAt'],
      ['tenantId', 'status'],
    ]);
    expect(approvals.fields).toEqual(['tenantId', 'status', 'requestedAt']);
    expect(Object.isFrozen(approvals)).toBe(true);
  });

  it.each([
    [{ name: 'Approval' }, /aggregate name/],
    [{ name: 'has-dash' }, /aggregate name/],
    [{ indexes: [[]] }, /at least one field/],
    [{ indexes: [['status', 'status']] }, /repeats a field/],
    [{ indexes: ['status', ['status']] }, /declared twice/],
    [{ indexes: ["x'); DROP TABLE y; --"] }, /must match/],
  ])('refuses %j', (override, message) => {
    expect(() =>
      defineAggregate({
        name: 'approval',
        schema: Approval,
        id: (a) => a.approvalId,
        ...(override as object),
      }),
    ).toThrow(message);
    expect(() =>
      defineAggregate({
        name: 'approval',
        schema: Approval,
        id: (a) => a.approvalId,
        ...(override as object),
      }),
    ).toThrow(StoreError);
  });
});

describe('prepareDocument and readDocument', () => {
  const approvals = defineAggregate({
    name: 'approval',
    schema: Approval,
    id: (a) => a.approvalId,
  });
  const valid = {
    approvalId: 'a1',
    tenantId: 't',
    status: 'waiting',
    requestedAt: '2030-01-01T00:00:00.000Z',
  };

  it('parses with defaults and derives the id', () => {
    expect(prepareDocument(approvals, valid)).toEqual({ id: 'a1', doc: { ...valid, notes: [] } });
  });

  it('names the aggregate and every failing field', () => {
    let error: unknown;
    try {
      prepareDocument(approvals, { ...valid, status: 'maybe', requestedAt: 'yesterday' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DocumentValidationError);
    const e = error as DocumentValidationError;
    expect(e.message).toMatch(/^approval: invalid document/);
    expect(e.issues).toEqual([
      expect.stringMatching(/^status: /),
      expect.stringMatching(/^requestedAt: /),
    ]);
    expect(e.id).toBeUndefined();
  });

  it('refuses an empty id', () => {
    expect(() => prepareDocument(approvals, { ...valid, approvalId: '' })).toThrow(
      DocumentValidationError,
    );
    const blankId = defineAggregate({ name: 'approval', schema: Approval, id: () => '' });
    expect(() => prepareDocument(blankId, valid)).toThrow(/id function returned ""/);
  });

  it('reports a stored document that fails the schema with its id', () => {
    expect(readDocument(approvals, 'a1', { ...valid, notes: ['x'] }).notes).toEqual(['x']);
    expect(() => readDocument(approvals, 'a1', { ...valid, status: 1 })).toThrow(
      expect.objectContaining({ id: 'a1', aggregate: 'approval' }),
    );
  });
});
