import {
  ConcurrencyError,
  DuplicateError,
  NotFoundError,
  prepareDocument,
  type AnyAggregate,
  type Store,
  type Stored,
} from '@leash/store';

/**
 * Just enough of the Store port for the KillSwitch's unit specs (get, insert,
 * update, upsert, find by equality), in memory. `failWrites` makes every
 * write throw, as a store that is down would. Not exported: specs only.
 */
export class MemoryKillStore {
  failWrites: Error | undefined;
  readonly tables = new Map<string, Map<string, Stored<unknown>>>();

  asStore(): Store {
    return {
      system: 'memory',
      repository: (aggregate: AnyAggregate) => this.repository(aggregate),
    } as unknown as Store;
  }

  private repository(aggregate: AnyAggregate) {
    let table = this.tables.get(aggregate.name);
    if (!table) {
      table = new Map();
      this.tables.set(aggregate.name, table);
    }
    const rows = table;
    const write = (input: unknown, version: number) => {
      if (this.failWrites) throw this.failWrites;
      const { id, doc } = prepareDocument(aggregate, input);
      const stored = { id, version, doc: structuredClone(doc) };
      rows.set(id, stored);
      return stored;
    };
    return {
      get: async (id: string) => rows.get(id),
      insert: async (input: unknown) => {
        const { id } = prepareDocument(aggregate, input);
        if (rows.has(id)) throw new DuplicateError(aggregate.name, id);
        return write(input, 1);
      },
      update: async (input: unknown, expectedVersion: number) => {
        const { id } = prepareDocument(aggregate, input);
        const current = rows.get(id);
        if (!current) throw new NotFoundError(aggregate.name, id);
        if (current.version !== expectedVersion) {
          throw new ConcurrencyError(aggregate.name, id, expectedVersion, current.version);
        }
        return write(input, expectedVersion + 1);
      },
      upsert: async (input: unknown) => {
        const { id } = prepareDocument(aggregate, input);
        return write(input, (rows.get(id)?.version ?? 0) + 1);
      },
      find: async (query: { where?: Record<string, unknown> } = {}) =>
        [...rows.values()].filter((row) =>
          Object.entries(query.where ?? {}).every(
            ([field, value]) => (row.doc as Record<string, unknown>)[field] === value,
          ),
        ),
    };
  }
}
