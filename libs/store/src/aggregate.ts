import { z } from 'zod';
import { DocumentValidationError, StoreError } from './errors';

/** The values an indexed field may hold; they compare the same way in SQLite and MongoDB. */
export type IndexValue = string | number | boolean | null;

/** Top-level keys of a document type; only these can be indexed. */
export type FieldOf<T> = Extract<T extends unknown ? keyof T : never, string>;

export interface AggregateSpec<S extends z.ZodType, F extends string> {
  /** Collection / table name: lower case letters, digits and `_`. Never rename a live one. */
  readonly name: string;
  /**
   * Must be plain JSON data without transforms: a document read back is
   * parsed again, or, when it is the text this adapter wrote, taken as written
   * (WrittenDocuments), and both must give the same document.
   */
  readonly schema: S;
  /** The document's identity; becomes `_id` in MongoDB and the primary key in SQLite. */
  readonly id: (doc: z.output<S>) => string;
  /**
   * Each entry is one index: a field, or a list of fields for a compound index
   * (equality fields first, then the range/order field). Every field named in
   * any index can be used in `find`.
   */
  readonly indexes?: readonly (F | readonly F[])[];
}

export interface AggregateDefinition<S extends z.ZodType = z.ZodType, F extends string = string> {
  readonly name: string;
  readonly schema: S;
  readonly id: (doc: z.output<S>) => string;
  readonly indexes: readonly (readonly F[])[];
  /** Every indexed field, each once, in first-mention order. */
  readonly fields: readonly F[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAggregate = AggregateDefinition<any, string>;
export type DocOf<A extends AnyAggregate> = z.output<A['schema']>;
export type InputOf<A extends AnyAggregate> = z.input<A['schema']>;
export type IndexedFieldOf<A extends AnyAggregate> = A['fields'][number];

const AGGREGATE_NAME = /^[a-z][a-z0-9_]{0,47}$/;
// Fields become SQL column names and JSON paths; an identifier is safe in both.
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,47}$/;

/**
 * Declares an aggregate: its schema, identity and indexes. Adapters create the
 * collection/table and indexes from this on first use.
 */
export function defineAggregate<S extends z.ZodType, const F extends FieldOf<z.output<S>> = never>(
  spec: AggregateSpec<S, F>,
): AggregateDefinition<S, F> {
  if (!AGGREGATE_NAME.test(spec.name)) {
    throw new StoreError(
      `aggregate name "${spec.name}" must match ${AGGREGATE_NAME} (it names a table and a collection)`,
    );
  }
  const indexes: (readonly F[])[] = [];
  const fields: F[] = [];
  const seen = new Set<string>();
  for (const entry of spec.indexes ?? []) {
    const index: readonly F[] = typeof entry === 'string' ? [entry as F] : (entry as readonly F[]);
    if (index.length === 0) throw new StoreError(`${spec.name}: an index needs at least one field`);
    if (new Set(index).size !== index.length) {
      throw new StoreError(`${spec.name}: index [${index.join(', ')}] repeats a field`);
    }
    for (const field of index) {
      if (!FIELD_NAME.test(field)) {
        throw new StoreError(`${spec.name}: index field "${field}" must match ${FIELD_NAME}`);
      }
      if (!fields.includes(field)) fields.push(field);
    }
    const key = index.join(',');
    if (seen.has(key)) throw new StoreError(`${spec.name}: index [${key}] is declared twice`);
    seen.add(key);
    indexes.push(Object.freeze([...index]));
  }
  return Object.freeze({
    name: spec.name,
    schema: spec.schema,
    id: spec.id,
    indexes: Object.freeze(indexes),
    fields: Object.freeze(fields),
  });
}

function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
}

/** A document parsed for writing, with its identity. */
export interface PreparedDocument<T> {
  readonly id: string;
  readonly doc: T;
}

/** Validates a document before it is written; throws DocumentValidationError and writes nothing. */
export function prepareDocument<A extends AnyAggregate>(
  aggregate: A,
  input: unknown,
): PreparedDocument<DocOf<A>> {
  const parsed = aggregate.schema.safeParse(input);
  if (!parsed.success) {
    throw new DocumentValidationError(
      `${aggregate.name}: invalid document: ${z.prettifyError(parsed.error)}`,
      aggregate.name,
      issuesOf(parsed.error),
    );
  }
  const doc = parsed.data as DocOf<A>;
  const id: unknown = aggregate.id(doc);
  if (typeof id !== 'string' || id.length === 0) {
    throw new DocumentValidationError(
      `${aggregate.name}: the id function returned ${JSON.stringify(id)}, expected a non-empty string`,
      aggregate.name,
      ['(id): not a non-empty string'],
    );
  }
  const record = doc as Readonly<Record<string, unknown>>;
  const nonScalar = aggregate.fields.filter((field) => !isIndexValue(record[field]));
  if (nonScalar.length > 0) {
    throw new DocumentValidationError(
      `${aggregate.name}: indexed field ${nonScalar.map((f) => `"${f}"`).join(', ')} must hold a string, a number, a boolean or nothing; ` +
        'engines index lists and objects differently (MongoDB indexes each element, SQLite the JSON text), so they cannot be indexed',
      aggregate.name,
      nonScalar.map((field) => `${field}: not a scalar`),
      id,
    );
  }
  return { id, doc };
}

function isIndexValue(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/**
 * Validates a document read back from storage. A failure means the stored data
 * and the code disagree (a schema change without a migration, a hand edit):
 * surfacing it beats handing a handler a document its types lie about.
 */
export function readDocument<A extends AnyAggregate>(
  aggregate: A,
  id: string,
  raw: unknown,
): DocOf<A> {
  const parsed = aggregate.schema.safeParse(raw);
  if (!parsed.success) {
    throw new DocumentValidationError(
      `${aggregate.name} ${id}: stored document does not match the schema: ${z.prettifyError(parsed.error)}`,
      aggregate.name,
      issuesOf(parsed.error),
      id,
    );
  }
  return parsed.data as DocOf<A>;
}
