import { z } from 'zod';

/** What every environment variable declares about itself, for error messages, docs and redaction. */
export interface VariableMeta {
  /** What the variable is for, written for an operator. */
  readonly description: string;
  /** The accepted form, as an operator reads it: `a whole number from 1 to 1024`. */
  readonly expected: string;
  /** Never printed: not in errors, not in logs. */
  readonly secret?: boolean;
  /** How docs show a computed default (e.g. `host-pid`), instead of this process's value. */
  readonly defaultText?: string;
}

/** Where variables keep their metadata; looked up by the schema object itself. */
export const VARIABLES = z.registry<VariableMeta>();

/** Declares one environment variable: its parser (with any default) and its metadata. */
export function variable<T extends z.ZodType>(schema: T, meta: VariableMeta): T {
  VARIABLES.add(schema, meta as never);
  return schema;
}

export function metaOf(schema: z.ZodType): VariableMeta | undefined {
  return VARIABLES.get(schema);
}

// Environment values are strings; these parse them into what the code uses.

/** A whole number within bounds. */
export function integer(min: number, max: number) {
  return z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'not a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

/** A comma-separated list of non-empty items, each matching `item`. */
export function list(item: RegExp = /^.+$/) {
  return z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part.length > 0),
    )
    .pipe(z.array(z.string().regex(item)).min(1));
}

/** An absolute URL whose scheme is one of `protocols` (without the colon). */
export function url(protocols: readonly string[]) {
  return z
    .string()
    .trim()
    .refine((value) => {
      try {
        return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    });
}
