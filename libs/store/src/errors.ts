/** Base of every error the store raises on purpose; adapters wrap engine errors in these. */
export class StoreError extends Error {
  override readonly name: string = 'StoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An insert hit an existing id. Handlers use it to dedupe work keyed by id. */
export class DuplicateError extends StoreError {
  override readonly name = 'DuplicateError';
  constructor(
    readonly aggregate: string,
    readonly id: string,
  ) {
    super(`${aggregate} ${id} already exists`);
  }
}

/** A write expected a version the stored document no longer has: someone else wrote first. */
export class ConcurrencyError extends StoreError {
  override readonly name = 'ConcurrencyError';
  constructor(
    readonly aggregate: string,
    readonly id: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(
      `${aggregate} ${id}: expected version ${expectedVersion}, found ${actualVersion}; reload and retry`,
    );
  }
}

export class NotFoundError extends StoreError {
  override readonly name = 'NotFoundError';
  constructor(
    readonly aggregate: string,
    readonly id: string,
  ) {
    super(`${aggregate} ${id} does not exist`);
  }
}

/** A document failed its aggregate's schema, on the way in (nothing written) or on the way out. */
export class DocumentValidationError extends StoreError {
  override readonly name = 'DocumentValidationError';
  constructor(
    message: string,
    readonly aggregate: string,
    readonly issues: readonly string[],
    readonly id?: string,
  ) {
    super(message);
  }
}

/** The query asked for something the aggregate does not index, or was malformed. */
export class QueryError extends StoreError {
  override readonly name = 'QueryError';
}

/**
 * The engine cannot answer for now: a lock held too long (SQLite), a primary
 * being elected or a connection lost (MongoDB). Marked transient (duck-typed
 * like the bus's TransientError) so a consumer retries the delivery instead
 * of dead-lettering an event that nothing is wrong with. Every adapter raises
 * this (or a subclass) for such failures, never its engine's own error.
 */
export class StoreUnavailableError extends StoreError {
  override readonly name: string = 'StoreUnavailableError';
  readonly transient = true as const;
}

/** Another process held SQLite's write lock for longer than the configured wait. */
export class StoreBusyError extends StoreUnavailableError {
  override readonly name = 'StoreBusyError';
}
