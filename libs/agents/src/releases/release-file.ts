import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { z } from 'zod';
import { CanaryThresholds, type ReleaseCreatedV1 } from '@leash/contracts';
import { AgentProfile, Caps, CostGuard, FallbackModel } from '../agent-profile';
import type { ReleaseView } from './release-catalog';

/**
 * A release file, as a team keeps it in its own repository (YAML or JSON).
 * Every field but `description` may be left out: it is then the parent
 * release's (the agent's current one), so a file can change one thing. The
 * first release of a new agent must give all of model, prompt, tools, policy
 * and caps.
 */
export const ReleaseFile = z
  .object({
    /** An agent folder's agent.yaml is a release file too; its name must be the agent's. */
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,63}$/)
      .optional(),
    description: z.string().max(2_000).optional(),
    model: z.string().min(1).max(200).optional(),
    prompt: z
      .object({
        id: z.string().min(1).max(100).optional(),
        version: z.string().min(1).max(100).optional(),
        text: z.string().min(1).max(100_000).optional(),
        file: z
          .string()
          .min(1)
          .optional()
          .describe('A file with the text, beside the release file.'),
      })
      .strict()
      .refine((p) => (p.text === undefined) !== (p.file === undefined), {
        message: 'give the prompt as text or as file, one of them',
      })
      .optional(),
    policy: z
      .object({
        id: z.string().min(1).max(100).optional(),
        cedar: z.string().min(1).max(200_000).optional(),
        file: z.string().min(1).optional().describe('A Cedar file, beside the release file.'),
        description: z.string().max(2_000).optional(),
      })
      .strict()
      .refine((p) => (p.cedar === undefined) !== (p.file === undefined), {
        message: 'give the policy as cedar or as file, one of them',
      })
      .optional(),
    tools: z.array(z.string().min(1)).min(1).optional(),
    caps: Caps.optional(),
    liftIrreversibleApproval: z.array(z.string()).optional(),
    loopThreshold: z.number().int().min(2).optional(),
    rateLimits: z.record(z.string(), z.number().int().positive()).optional(),
    maxSteps: z.number().int().positive().optional(),
    approvals: z
      .object({ chain: z.array(z.string().min(1)).min(1), ttlMs: z.number().int().positive() })
      .strict()
      .optional(),
    canary: CanaryThresholds.partial().strict().optional(),
    costGuard: CostGuard.optional(),
    fallbackModel: FallbackModel.optional(),
  })
  .strict();
export type ReleaseFile = z.infer<typeof ReleaseFile>;

/** A release file that cannot be used; each problem names the field and its line. */
export class ReleaseFileError extends Error {
  override readonly name = 'ReleaseFileError';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
    /** What the file is meant to be, as the message says it. */
    kind = 'release file',
  ) {
    super(`${file} is not a valid ${kind}:\n  - ${problems.join('\n  - ')}`);
  }
}

/** A release file read and checked, with its prompt and policy texts loaded. */
export interface LoadedReleaseFile {
  readonly file: string;
  readonly content: ReleaseFile;
  readonly promptText?: string;
  readonly cedar?: string;
}

/** Reads a release file; any problem (syntax, a field, a missing prompt file) is a ReleaseFileError. */
export function loadReleaseFile(file: string): LoadedReleaseFile {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ReleaseFileError(file, [(error as Error).message]);
  }
  return parseReleaseFile(text, file, dirname(path));
}

/** Parses a release file's text; `baseDir` is where its `file:` references are read from. */
export function parseReleaseFile(text: string, file: string, baseDir: string): LoadedReleaseFile {
  const content = parseDataFile(text, file, ReleaseFile);
  return { file, content, ...readReferencedTexts(content, file, baseDir) };
}

/**
 * A YAML (or JSON) document checked against a schema; every problem, of
 * syntax or of a field, is named with its line (ReleaseFileError).
 */
export function parseDataFile<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  kind = 'release file',
): z.output<S> {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (document.errors.length > 0) {
    throw new ReleaseFileError(
      file,
      document.errors.map(
        (e) => `line ${lines.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`,
      ),
      kind,
    );
  }
  const parsed = schema.safeParse(document.toJS() ?? {});
  if (parsed.success) return parsed.data;
  throw new ReleaseFileError(
    file,
    parsed.error.issues.map((issue) => {
      const path = issue.path.map(String);
      const key = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0] ?? ''] : path;
      const node = document.getIn(key, true) ?? findKeyNode(document, key);
      const offset = isNode(node) ? node.range?.[0] : undefined;
      const line = offset !== undefined ? ` (line ${lines.linePos(offset).line})` : '';
      if (issue.code === 'unrecognized_keys') {
        return `${key.join('.')}${line}: not a field here (${issue.keys.join(', ')})`;
      }
      return `${path.join('.') || '(top level)'}${line}: ${issue.message}`;
    }),
    kind,
  );
}

/** The prompt and policy texts a file names (`prompt.file`, `policy.file`), read beside it. */
export function readReferencedTexts(
  content: Pick<ReleaseFile, 'prompt' | 'policy'>,
  file: string,
  baseDir: string,
): { promptText?: string; cedar?: string } {
  const read = (field: string, name: string): string => {
    try {
      return readFileSync(resolve(baseDir, name), 'utf8');
    } catch (error) {
      throw new ReleaseFileError(file, [`${field}: ${(error as Error).message}`]);
    }
  };
  // A text file ends with a newline; the prompt does not.
  const promptText =
    content.prompt?.text ??
    (content.prompt?.file
      ? read('prompt.file', content.prompt.file).replace(/\r?\n$/, '')
      : undefined);
  const cedar =
    content.policy?.cedar ??
    (content.policy?.file ? read('policy.file', content.policy.file) : undefined);
  return {
    ...(promptText !== undefined ? { promptText } : {}),
    ...(cedar !== undefined ? { cedar } : {}),
  };
}

/** The node of a key that has no value node (an unknown key's pair), for its line. */
function findKeyNode(document: ReturnType<typeof parseDocument>, path: string[]): unknown {
  const parent = path.length > 1 ? document.getIn(path.slice(0, -1), true) : document.contents;
  const items = (parent as { items?: { key?: { value?: unknown; range?: unknown } }[] })?.items;
  return items?.find((pair) => pair.key?.value === path[path.length - 1])?.key;
}

/** A short, stable version for a text: what a prompt is versioned by when the file names none. */
export function textVersion(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** What a release is built on: the parent's view, or nothing for an agent's first release. */
export interface ReleaseDraftInput {
  readonly agent: string;
  readonly release: number;
  readonly parent?: ReleaseView;
  readonly file: LoadedReleaseFile;
  readonly author: string;
  readonly now: Date;
  /** The next version of the policy id, when the file brings a text no version has. */
  readonly nextPolicyVersion: (policyId: string) => Promise<number>;
  /** The version of a policy id whose text equals `cedar`, if any. */
  readonly policyVersionOf: (policyId: string, cedar: string) => Promise<number | undefined>;
  /** toolsetVersion() of the named tools; throws on a tool this deployment does not know. */
  readonly toolsVersion: (tools: readonly string[]) => string;
}

/**
 * The release event a file makes: the parent's bundle with what the file
 * changes. Refuses (ReleaseFileError) what the file leaves out that a first
 * release needs, and a profile that does not hold.
 */
export async function draftRelease(input: ReleaseDraftInput): Promise<ReleaseCreatedV1> {
  const { file, parent, agent } = input;
  const content = file.content;
  const problems: string[] = [];
  if (content.name !== undefined && content.name !== agent) {
    problems.push(`name: the file is agent ${content.name}'s, not ${agent}'s`);
  }
  const promptText = file.promptText ?? parent?.prompt.text;
  if (promptText === undefined) {
    problems.push(
      parent
        ? `prompt: release ${parent.release} has no prompt text this CLI can read: give prompt.text or prompt.file`
        : 'prompt: a first release needs prompt.text or prompt.file',
    );
  }
  const cedar = file.cedar ?? parent?.policy.cedar;
  if (cedar === undefined) {
    problems.push(
      parent
        ? `policy: release ${parent.release}'s policy text is not in this catalog: give policy.cedar or policy.file`
        : 'policy: a first release needs policy.cedar or policy.file',
    );
  }
  if (problems.length > 0) throw new ReleaseFileError(file.file, problems);
  const promptId = content.prompt?.id ?? parent?.prompt.id ?? agent;
  const promptVersion =
    content.prompt?.version ??
    (file.promptText === undefined && parent ? parent.prompt.version : textVersion(promptText!));
  const policyId = content.policy?.id ?? parent?.policy.id ?? agent;
  const policyVersion =
    (await input.policyVersionOf(policyId, cedar!)) ?? (await input.nextPolicyVersion(policyId));
  const base = parent?.profile;
  const candidate = {
    name: agent,
    version: input.release,
    description: base?.description ?? content.description ?? '',
    model: content.model ?? base?.model,
    prompt: { id: promptId, version: promptVersion },
    tools: content.tools ?? base?.tools,
    policy: { id: policyId, version: policyVersion },
    caps: content.caps ?? base?.caps,
    liftIrreversibleApproval: content.liftIrreversibleApproval ?? base?.liftIrreversibleApproval,
    loopThreshold: content.loopThreshold ?? base?.loopThreshold,
    rateLimits: content.rateLimits ?? base?.rateLimits,
    maxSteps: content.maxSteps ?? base?.maxSteps,
    approvals: content.approvals ?? base?.approvals,
    costGuard: content.costGuard ?? base?.costGuard,
    fallbackModel: content.fallbackModel ?? base?.fallbackModel,
  };
  const profile = AgentProfile.safeParse(candidate);
  if (!profile.success) {
    throw new ReleaseFileError(
      file.file,
      profile.error.issues.map(
        (issue) =>
          `${issue.path.join('.') || '(top level)'}: ${issue.code === 'invalid_type' && issue.input === undefined ? 'missing: a first release must give it' : issue.message}`,
      ),
    );
  }
  let toolsVersion: string;
  try {
    toolsVersion = input.toolsVersion(profile.data.tools);
  } catch (error) {
    throw new ReleaseFileError(file.file, [`tools: ${(error as Error).message}`]);
  }
  return {
    agent,
    release: input.release,
    ...(parent ? { parent: parent.release } : {}),
    description: content.description ?? '',
    author: input.author,
    createdAt: input.now.toISOString(),
    profile: profile.data as unknown as Record<string, unknown>,
    prompt: { id: promptId, version: promptVersion, text: promptText! },
    policy: {
      id: policyId,
      version: policyVersion,
      cedar: cedar!,
      description: content.policy?.description ?? '',
    },
    toolsVersion,
    canary: CanaryThresholds.parse({ ...(parent?.canary ?? {}), ...(content.canary ?? {}) }),
  };
}
