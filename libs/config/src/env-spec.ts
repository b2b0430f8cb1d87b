import { z } from 'zod';
import { metaOf, type VariableMeta } from './variables';

/**
 * `variable` must be set when `when.variable` (after defaults) equals
 * `when.equals`; or, with `unless`, whenever that other variable is unset
 * (a value or its `_FILE`: exactly one of the two).
 */
export type Requirement =
  | {
      readonly variable: string;
      readonly when: { readonly variable: string; readonly equals: string };
    }
  | { readonly variable: string; readonly unless: string };

function otherVariableOf(rule: Requirement): string {
  return 'when' in rule ? rule.when.variable : rule.unless;
}

function sameRequirement(a: Requirement, b: Requirement): boolean {
  if (a.variable !== b.variable) return false;
  if ('when' in a) {
    return 'when' in b && a.when.variable === b.when.variable && a.when.equals === b.when.equals;
  }
  return 'unless' in b && a.unless === b.unless;
}

/** A set of environment variables and the rules between them. */
export interface EnvSpec<S extends z.ZodRawShape = z.ZodRawShape> {
  readonly variables: S;
  readonly requirements: readonly Requirement[];
  readonly schema: z.ZodObject<S>;
}

export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly (infer U)[]
    ? readonly DeepReadonly<U>[]
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

/** The frozen object `loadConfig` returns for a spec. */
export type ConfigOf<E extends EnvSpec> = DeepReadonly<z.output<E['schema']>>;

/**
 * Declares variables. Throws at once (a programming error, found by any test
 * that imports the spec) when a variable has no metadata or a rule names an
 * unknown variable, so every variable stays documented.
 */
export function defineEnv<S extends z.ZodRawShape>(
  variables: S,
  requirements: readonly Requirement[] = [],
): EnvSpec<S> {
  for (const [name, schema] of Object.entries(variables)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) {
      throw new Error(`environment variable ${name}: names are UPPER_SNAKE_CASE`);
    }
    if (!metaOf(schema as z.ZodType)?.description) {
      throw new Error(
        `environment variable ${name} has no description: declare it with variable()`,
      );
    }
  }
  for (const rule of requirements) {
    for (const name of [rule.variable, otherVariableOf(rule)]) {
      if (!(name in variables)) throw new Error(`requirement names unknown variable ${name}`);
    }
  }
  return Object.freeze({
    variables: Object.freeze({ ...variables }),
    requirements: Object.freeze([...requirements]),
    schema: z.object(variables),
  });
}

/** A service's spec: the base variables plus its own. */
export function extendEnv<B extends z.ZodRawShape, S extends z.ZodRawShape>(
  base: EnvSpec<B>,
  variables: S,
  requirements: readonly Requirement[] = [],
): EnvSpec<B & S> {
  for (const name of Object.keys(variables)) {
    if (name in base.variables) throw new Error(`environment variable ${name} is already declared`);
  }
  return defineEnv({ ...base.variables, ...variables }, [...base.requirements, ...requirements]);
}

/**
 * Unites specs, e.g. every service's for the all-in-one launcher. A name
 * declared twice must be the same declaration: two meanings of one variable
 * in one process would be a bug.
 */
export function mergeEnv(...specs: readonly EnvSpec[]): EnvSpec {
  const variables: Record<string, z.ZodType> = {};
  const requirements: Requirement[] = [];
  for (const spec of specs) {
    for (const [name, schema] of Object.entries(spec.variables)) {
      const existing = variables[name];
      if (existing && existing !== schema) {
        throw new Error(`environment variable ${name} is declared twice, differently`);
      }
      variables[name] = schema as z.ZodType;
    }
    for (const rule of spec.requirements) {
      const seen = requirements.some((r) => sameRequirement(r, rule));
      if (!seen) requirements.push(rule);
    }
  }
  return defineEnv(variables, requirements);
}

export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}

/** Every problem with the environment at once, secrets never shown. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly subject: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(
      [
        `Invalid configuration of ${subject} (${count}):`,
        ...problems.map((p) => `  - ${p.message}`),
        'Fix the environment and start again.',
      ].join('\n'),
    );
  }
}

export type Environment = Readonly<Record<string, string | undefined>>;

export interface LoadConfigOptions {
  /** Default: process.env. */
  readonly env?: Environment;
  /** Who is starting, for the error message. */
  readonly subject?: string;
}

/**
 * Parses the environment once, at start-up. Returns a typed, deeply frozen
 * object, or throws a ConfigError listing every bad or missing variable.
 * An empty value counts as unset, as most deploy tools cannot unset a variable.
 */
export function loadConfig<E extends EnvSpec>(
  spec: E,
  options: LoadConfigOptions = {},
): ConfigOf<E> {
  const env = options.env ?? process.env;
  const input: Record<string, string> = {};
  for (const name of Object.keys(spec.variables)) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') input[name] = value;
  }

  const problems = new Map<string, string>();
  const parsed = spec.schema.safeParse(input);
  if (!parsed.success) {
    const details = new Map<string, string[]>();
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0]);
      const list = details.get(name) ?? [];
      // Our own checks explain themselves (`key k1 is shorter than 32 bytes`); zod's generic texts add nothing to `expected`.
      if (issue.code === 'custom' && issue.message !== 'Invalid input') list.push(issue.message);
      details.set(name, list);
    }
    for (const [name, list] of details) {
      problems.set(name, describeProblem(spec, name, input[name], list));
    }
  }
  for (const rule of spec.requirements) {
    if ('unless' in rule) {
      const set = [rule.variable, rule.unless].filter((name) => input[name] !== undefined);
      if (set.length === 2 && !problems.has(rule.variable)) {
        problems.set(rule.variable, `set ${rule.variable} or ${rule.unless}, not both`);
      } else if (set.length === 0 && !problems.has(rule.unless)) {
        const meta = metaFor(spec, rule.variable);
        problems.set(
          rule.variable,
          `${rule.variable} (or ${rule.unless}) is required: expected ${meta.expected}`,
        );
      }
      continue;
    }
    if (input[rule.variable] !== undefined || problems.has(rule.variable)) continue;
    const condition = (spec.variables[rule.when.variable] as z.ZodType).safeParse(
      input[rule.when.variable],
    );
    if (condition.success && condition.data === rule.when.equals) {
      const meta = metaFor(spec, rule.variable);
      problems.set(
        rule.variable,
        `${rule.variable} is required when ${rule.when.variable}=${rule.when.equals}: expected ${meta.expected}`,
      );
    }
  }

  if (problems.size > 0 || !parsed.success) {
    const list = [...problems].map(([variable, message]) => ({ variable, message }));
    throw new ConfigError(options.subject ?? 'this service', list);
  }
  return deepFreeze(parsed.data) as ConfigOf<E>;
}

function metaFor(spec: EnvSpec, name: string): VariableMeta {
  return metaOf(spec.variables[name] as z.ZodType) as VariableMeta;
}

function describeProblem(
  spec: EnvSpec,
  name: string,
  value: string | undefined,
  details: readonly string[],
): string {
  const meta = metaFor(spec, name);
  if (value === undefined) return `${name} is required: expected ${meta.expected}`;
  const shown = meta.secret ? '(secret value hidden)' : `is ${JSON.stringify(value)}`;
  const why = details.length > 0 ? ` (${details.join('; ')})` : '';
  return `${name} ${shown}: expected ${meta.expected}${why}`;
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** The config with every secret replaced, safe to log. */
export function redact<E extends EnvSpec>(
  spec: E,
  config: ConfigOf<E>,
): Readonly<Record<string, unknown>> {
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(config)) {
    const secret = metaOf(spec.variables[name] as z.ZodType)?.secret;
    copy[name] = secret && value !== undefined ? '[secret]' : value;
  }
  return Object.freeze(copy);
}

export interface VariableDoc extends VariableMeta {
  readonly name: string;
  readonly required: boolean | string;
  readonly default?: string;
}

/** One row per variable, for READMEs and `--help`. */
export function describeEnv(spec: EnvSpec): VariableDoc[] {
  return Object.entries(spec.variables).map(([name, schema]) => {
    const meta = metaFor(spec, name);
    const rule = spec.requirements.find((r) => r.variable === name);
    const empty = (schema as z.ZodType).safeParse(undefined);
    const required = !rule
      ? !empty.success
      : 'when' in rule
        ? `when ${rule.when.variable}=${rule.when.equals}`
        : `unless ${rule.unless} is set`;
    const fallback =
      meta.defaultText ??
      (empty.success && empty.data !== undefined ? String(empty.data) : undefined);
    return { name, ...meta, required, ...(fallback !== undefined ? { default: fallback } : {}) };
  });
}
