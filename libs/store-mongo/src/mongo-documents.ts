import { prepareDocument, readDocument, type AnyAggregate, type Stored } from '@leash/store';

/*
 * How an aggregate's document is kept in its collection:
 *
 *   { _id: <id>, v: <version>, b: <the document as JSON text>, x: { <indexed field>: <value> } }
 *
 * The body is JSON text, as in SQLite, not a BSON subdocument: documents
 * carry data from outside (tool arguments, outputs) whose keys may start
 * with `$` or hold dots, which MongoDB field names and update operators
 * treat specially; and a number round-trips exactly. The indexed fields are
 * copied beside it as BSON scalars (the port allows nothing else in them),
 * an absent one as null, so `{ x.field: null }` finds null and absent alike,
 * as the port asks.
 */

export interface MongoDocument {
  readonly _id: string;
  readonly v: number;
  readonly b: string;
  readonly x: Readonly<Record<string, string | number | boolean | null>>;
}

/** The path of an indexed field's copy, for filters, sorts and index keys. */
export function indexPath(field: string): string {
  return `x.${field}`;
}

/** Validates `input` for `aggregate` and maps it to its stored form at `version`. */
export function toMongoDocument<A extends AnyAggregate>(
  aggregate: A,
  input: unknown,
  version: number,
): {
  readonly id: string;
  readonly doc: ReturnType<typeof prepareDocument<A>>['doc'];
  readonly stored: MongoDocument;
} {
  const { id, doc } = prepareDocument(aggregate, input);
  const record = doc as Readonly<Record<string, unknown>>;
  const x: Record<string, string | number | boolean | null> = {};
  for (const field of aggregate.fields) {
    const value = record[field];
    x[field] = value === undefined ? null : (value as string | number | boolean | null);
  }
  return { id, doc, stored: { _id: id, v: version, b: JSON.stringify(doc), x } };
}

/** A stored document read back: parsed and checked against the aggregate's schema. */
export function fromMongoDocument<A extends AnyAggregate>(
  aggregate: A,
  raw: { readonly _id: unknown; readonly v: unknown; readonly b: unknown },
): Stored<ReturnType<typeof readDocument<A>>> {
  const id = String(raw._id);
  let parsed: unknown;
  try {
    parsed = typeof raw.b === 'string' ? JSON.parse(raw.b) : undefined;
  } catch {
    parsed = undefined;
  }
  return { id, version: Number(raw.v), doc: readDocument(aggregate, id, parsed) };
}

/** The collection of an aggregate: its name, prefixed so Leash's collections sort together. */
export function collectionOf(aggregate: Pick<AnyAggregate, 'name'>): string {
  return `leash_${aggregate.name}`;
}

/** The index specifications an aggregate asks for, as MongoDB index keys and names. */
export function indexSpecsOf(
  aggregate: Pick<AnyAggregate, 'name' | 'indexes'>,
): { readonly key: Record<string, 1>; readonly name: string }[] {
  return aggregate.indexes.map((fields) => ({
    key: Object.fromEntries(fields.map((field) => [indexPath(field), 1 as const])),
    name: `leash_${fields.join('_')}`,
  }));
}
