import { DuplicateError, StoreError, StoreUnavailableError } from '@leash/store';

/*
 * MongoDB's errors as the port's. A duplicate key is DuplicateError; a write
 * conflict inside a transaction (or any error labelled
 * TransientTransactionError) runs the transaction again; an unknown commit
 * result retries the commit; a lost primary, a network error or a server
 * shutting down is StoreUnavailableError, which the bus retries instead of
 * dead-lettering. Anything else is a StoreError carrying the cause.
 */

interface MongoLikeError {
  readonly name?: string;
  readonly code?: number;
  readonly codeName?: string;
  readonly message?: string;
  readonly errorLabelSet?: ReadonlySet<string>;
  readonly errorLabels?: readonly string[];
  hasErrorLabel?(label: string): boolean;
}

export function hasLabel(error: unknown, label: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as MongoLikeError;
  if (typeof e.hasErrorLabel === 'function') return e.hasErrorLabel(label);
  return e.errorLabelSet?.has(label) === true || e.errorLabels?.includes(label) === true;
}

/** Codes of a server that cannot take the write now, but will after an election or a restart. */
const UNAVAILABLE_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

const UNAVAILABLE_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  'MongoWriteConcernError',
]);

/** 112: WriteConflict, two transactions wrote one document. */
export function isWriteConflict(error: unknown): boolean {
  return (error as MongoLikeError | undefined)?.code === 112;
}

export function isDuplicateKey(error: unknown): boolean {
  const code = (error as MongoLikeError | undefined)?.code;
  return code === 11000 || code === 11001;
}

export function isUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as MongoLikeError;
  return (
    (e.name !== undefined && UNAVAILABLE_NAMES.has(e.name)) ||
    (e.code !== undefined && UNAVAILABLE_CODES.has(e.code)) ||
    hasLabel(error, 'RetryableWriteError') ||
    hasLabel(error, 'ResetPool')
  );
}

/**
 * The port's error for a MongoDB error met while working on `aggregate`
 * (`id` when one document was addressed). Errors of the port pass through.
 */
export function mapMongoError(error: unknown, aggregate?: string, id?: string): Error {
  if (error instanceof StoreError) return error;
  if (isDuplicateKey(error) && aggregate !== undefined) {
    return new DuplicateError(aggregate, id ?? 'unknown');
  }
  const message = (error as MongoLikeError | undefined)?.message ?? String(error);
  if (isUnavailable(error)) {
    return new StoreUnavailableError(`mongodb is unavailable: ${message}`, { cause: error });
  }
  return new StoreError(`mongodb: ${message}`, { cause: error });
}

/**
 * Two writers upserted one new id at once (an inbox claim, an outbox key's
 * counter, insertIfAbsent): the loser's duplicate key is a race, not a
 * duplicate. Inside a transaction it runs the transaction again (and the
 * upsert then finds the winner's document); outside, it is transient.
 */
export class UpsertRace extends StoreUnavailableError {
  override readonly name = 'UpsertRace';
}
