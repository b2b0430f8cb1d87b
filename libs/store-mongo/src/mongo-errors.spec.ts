import { DuplicateError, StoreError, StoreUnavailableError } from '@leash/store';
import { UpsertRace, hasLabel, isWriteConflict, mapMongoError } from './mongo-errors';

/** Errors shaped as the driver raises them: a code, a name, error labels. */
function driverError(fields: {
  code?: number;
  name?: string;
  labels?: string[];
  message?: string;
}) {
  const labels = new Set(fields.labels ?? []);
  return Object.assign(new Error(fields.message ?? 'driver error'), {
    ...(fields.code !== undefined ? { code: fields.code } : {}),
    name: fields.name ?? 'MongoServerError',
    hasErrorLabel: (label: string) => labels.has(label),
  });
}

describe('MongoDB errors as the port has them', () => {
  it('maps a duplicate key to DuplicateError naming the document', () => {
    const error = mapMongoError(driverError({ code: 11000 }), 'order', 'o1');
    expect(error).toBeInstanceOf(DuplicateError);
    expect(error).toMatchObject({ aggregate: 'order', id: 'o1' });
  });

  it.each([
    ['a lost primary', { code: 10107 }],
    ['a step-down', { code: 189 }],
    ['an interruption by a replica set change', { code: 11602 }],
    ['a network error', { name: 'MongoNetworkError' }],
    ['no server to select', { name: 'MongoServerSelectionError' }],
    ['no server to select, through mongoose', { name: 'MongooseServerSelectionError' }],
    ['a retryable write error', { labels: ['RetryableWriteError'], code: 1 }],
  ])('maps %s to the transient StoreUnavailableError', (_what, fields) => {
    const error = mapMongoError(driverError(fields));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).transient).toBe(true);
  });

  it('keeps anything else a plain StoreError with its cause, and passes the port own errors through', () => {
    const cause = driverError({ code: 2, message: 'bad value' });
    const error = mapMongoError(cause);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).not.toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toBe('mongodb: bad value');
    expect((error as StoreError).cause).toBe(cause);
    const own = new DuplicateError('order', 'o1');
    expect(mapMongoError(own)).toBe(own);
  });

  it('reads write conflicts and error labels', () => {
    expect(isWriteConflict(driverError({ code: 112 }))).toBe(true);
    expect(isWriteConflict(driverError({ code: 11000 }))).toBe(false);
    expect(
      hasLabel(driverError({ labels: ['TransientTransactionError'] }), 'TransientTransactionError'),
    ).toBe(true);
    expect(
      hasLabel(
        { errorLabels: ['UnknownTransactionCommitResult'] },
        'UnknownTransactionCommitResult',
      ),
    ).toBe(true);
    expect(hasLabel(undefined, 'TransientTransactionError')).toBe(false);
  });

  it('keeps an upsert race transient, so it is run again rather than reported as a duplicate', () => {
    const race = new UpsertRace('inbox claim raced');
    expect(race).toBeInstanceOf(StoreUnavailableError);
    expect(mapMongoError(race)).toBe(race);
  });
});
