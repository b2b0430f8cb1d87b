import type { mongo } from 'mongoose';
import {
  ConcurrencyError,
  DuplicateError,
  NotFoundError,
  checkId,
  checkVersion,
  planQuery,
  type AnyAggregate,
  type FilterQuery,
  type FindQuery,
  type RepositoryOf,
  type Stored,
} from '@leash/store';
import { fromMongoDocument, toMongoDocument, type MongoDocument } from './mongo-documents';
import { UpsertRace, isDuplicateKey, mapMongoError } from './mongo-errors';
import { toMongoQuery } from './mongo-query';

/*
 * One aggregate's repository on its collection: inside a transaction every
 * operation carries the transaction's session; outside, each is a
 * single-document operation, atomic on its own. Versions are checked in the
 * filter of the write itself, so a concurrent writer is either a version
 * mismatch (ConcurrencyError) or, inside a transaction, a write conflict
 * that runs the transaction again.
 */

export interface RepositoryContext {
  readonly collection: () => Promise<mongo.Collection<MongoDocument>>;
  /** The transaction's session, or undefined outside one. */
  readonly session?: mongo.ClientSession;
  /** Throws when the repository may not be used now (its transaction ended, the store closed). */
  readonly check: () => void;
}

export function mongoRepository<A extends AnyAggregate>(
  aggregate: A,
  context: RepositoryContext,
): RepositoryOf<A> {
  type T = Stored<ReturnType<typeof fromMongoDocument<A>>['doc']>;
  const options = context.session ? { session: context.session } : {};
  const run = async <R>(
    id: string | undefined,
    fn: (c: mongo.Collection<MongoDocument>) => Promise<R>,
  ): Promise<R> => {
    context.check();
    const collection = await context.collection();
    try {
      return await fn(collection);
    } catch (error) {
      throw mapMongoError(error, aggregate.name, id);
    }
  };
  const versionOf = async (collection: mongo.Collection<MongoDocument>, id: string) =>
    (await collection.findOne({ _id: id }, { ...options, projection: { v: 1 } }))?.v;

  const insertIfAbsent = async (input: unknown): Promise<T | undefined> => {
    const { id, doc, stored } = toMongoDocument(aggregate, input, 1);
    return run(id, async (collection) => {
      try {
        const result = await collection.updateOne(
          { _id: id },
          { $setOnInsert: stored },
          { ...options, upsert: true },
        );
        return result.upsertedCount === 1 ? ({ id, version: 1, doc } as T) : undefined;
      } catch (error) {
        if (isDuplicateKey(error)) {
          throw new UpsertRace(`${aggregate.name} ${id} was inserted at the same time`, {
            cause: error,
          });
        }
        throw error;
      }
    });
  };

  const repository: RepositoryOf<AnyAggregate> = {
    get: async (id) =>
      run(id, async (collection) => {
        const found = await collection.findOne({ _id: checkId(aggregate, id) }, options);
        return found ? (fromMongoDocument(aggregate, found) as T) : undefined;
      }),
    insert: async (input) => {
      const { id, doc, stored } = toMongoDocument(aggregate, input, 1);
      return run(id, async (collection) => {
        try {
          await collection.insertOne(stored, options);
        } catch (error) {
          if (isDuplicateKey(error)) throw new DuplicateError(aggregate.name, id);
          throw error;
        }
        return { id, version: 1, doc } as T;
      });
    },
    insertIfAbsent,
    update: async (input, expectedVersion) => {
      checkVersion(aggregate, expectedVersion);
      const { id, doc, stored } = toMongoDocument(aggregate, input, expectedVersion + 1);
      return run(id, async (collection) => {
        const result = await collection.updateOne(
          { _id: id, v: expectedVersion },
          { $set: { b: stored.b, x: stored.x, v: expectedVersion + 1 } },
          options,
        );
        if (result.matchedCount === 1) return { id, version: expectedVersion + 1, doc } as T;
        const actual = await versionOf(collection, id);
        if (actual === undefined) throw new NotFoundError(aggregate.name, id);
        throw new ConcurrencyError(aggregate.name, id, expectedVersion, actual);
      });
    },
    upsert: async (input) => {
      const { id, doc, stored } = toMongoDocument(aggregate, input, 1);
      return run(id, async (collection) => {
        const after = await collection.findOneAndUpdate(
          { _id: id },
          { $set: { b: stored.b, x: stored.x }, $inc: { v: 1 } },
          // No projection: FerretDB refuses one on findAndModify, and the document is small.
          { ...options, upsert: true, returnDocument: 'after' },
        );
        return { id, version: after?.v ?? 1, doc } as T;
      });
    },
    delete: async (id, expectedVersion) =>
      run(id, async (collection) => {
        checkId(aggregate, id);
        if (expectedVersion !== undefined) checkVersion(aggregate, expectedVersion);
        const filter =
          expectedVersion === undefined ? { _id: id } : { _id: id, v: expectedVersion };
        if ((await collection.deleteOne(filter, options)).deletedCount === 1) return true;
        if (expectedVersion === undefined) return false;
        const actual = await versionOf(collection, id);
        if (actual === undefined) return false;
        throw new ConcurrencyError(aggregate.name, id, expectedVersion, actual);
      }),
    find: async (query?: FindQuery<string>) => {
      const plan = planQuery(aggregate, query);
      if (plan.matchesNothing) return [];
      const { filter, sort, limit } = toMongoQuery(plan);
      return run(undefined, async (collection) => {
        const found = await collection
          .find(filter, { ...options, sort, ...(limit !== undefined ? { limit } : {}) })
          .toArray();
        return found.map((raw) => fromMongoDocument(aggregate, raw) as T);
      });
    },
    count: async (query?: FilterQuery<string>) => {
      const plan = planQuery(aggregate, query);
      if (plan.matchesNothing) return 0;
      const { filter } = toMongoQuery(plan);
      return run(undefined, (collection) => collection.countDocuments(filter, options));
    },
  };
  return repository as RepositoryOf<A>;
}
