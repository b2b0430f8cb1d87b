import { z } from 'zod';
import { DocumentValidationError, defineAggregate } from '@leash/store';
import { collectionOf, fromMongoDocument, indexSpecsOf, toMongoDocument } from './mongo-documents';

const orders = defineAggregate({
  name: 'order',
  schema: z.object({
    orderId: z.string().min(1),
    tenantId: z.string(),
    amount: z.number(),
    urgent: z.boolean().default(false),
    reviewer: z.string().optional(),
    data: z.record(z.string(), z.unknown()).default({}),
  }),
  id: (o) => o.orderId,
  indexes: ['reviewer', ['tenantId', 'amount'], 'urgent'],
});

describe('the stored form of a document', () => {
  it('keeps the body as JSON text and each indexed field as a scalar beside it, absent as null', () => {
    const { id, stored } = toMongoDocument(
      orders,
      { orderId: 'o1', tenantId: 't', amount: 0.1 + 0.2, data: { $where: 'x', 'a.b': 1 } },
      3,
    );
    expect(id).toBe('o1');
    expect(stored).toEqual({
      _id: 'o1',
      v: 3,
      b: JSON.stringify({
        orderId: 'o1',
        tenantId: 't',
        amount: 0.1 + 0.2,
        urgent: false,
        data: { $where: 'x', 'a.b': 1 },
      }),
      x: { reviewer: null, tenantId: 't', amount: 0.30000000000000004, urgent: false },
    });
  });

  it('reads a stored document back through the schema, a fresh object each time', () => {
    const { stored } = toMongoDocument(orders, { orderId: 'o1', tenantId: 't', amount: 5 }, 1);
    const a = fromMongoDocument(orders, stored);
    const b = fromMongoDocument(orders, stored);
    expect(a).toEqual({
      id: 'o1',
      version: 1,
      doc: expect.objectContaining({ amount: 5, urgent: false }),
    });
    expect(a.doc).not.toBe(b.doc);
  });

  it('refuses a stored body that is not the schema, or not JSON', () => {
    expect(() => fromMongoDocument(orders, { _id: 'o1', v: 1, b: '{"orderId":"o1"}' })).toThrow(
      DocumentValidationError,
    );
    expect(() => fromMongoDocument(orders, { _id: 'o1', v: 1, b: 'not json' })).toThrow(
      DocumentValidationError,
    );
  });

  it('refuses an invalid document before anything is written', () => {
    expect(() => toMongoDocument(orders, { orderId: '', tenantId: 't', amount: 1 }, 1)).toThrow(
      DocumentValidationError,
    );
  });

  it('names collections and indexes after the aggregate', () => {
    expect(collectionOf(orders)).toBe('leash_order');
    expect(indexSpecsOf(orders)).toEqual([
      { key: { 'x.reviewer': 1 }, name: 'leash_reviewer' },
      { key: { 'x.tenantId': 1, 'x.amount': 1 }, name: 'leash_tenantId_amount' },
      { key: { 'x.urgent': 1 }, name: 'leash_urgent' },
    ]);
  });
});
