import { isDeepStrictEqual } from 'node:util';
import { diffLines, type LineDiff } from '../catalog/line-diff';
import type { ReleaseView } from './release-catalog';

/** What changed from one release to another, part by part. */
export interface ReleaseDiff {
  readonly from: number;
  readonly to: number;
  readonly model?: { readonly from: string; readonly to: string };
  readonly prompt?: { readonly from: string; readonly to: string; readonly text: LineDiff };
  readonly policy?: { readonly from: string; readonly to: string; readonly text: LineDiff };
  readonly tools?: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly from: string;
    readonly to: string;
  };
  /** Every other profile setting that differs (caps among them), as dotted paths. */
  readonly settings: readonly {
    readonly path: string;
    readonly from: unknown;
    readonly to: unknown;
  }[];
  readonly unchanged: boolean;
}

/** The parts of the profile shown on their own; the rest are compared leaf by leaf. */
const OWN_SECTIONS = new Set(['name', 'version', 'model', 'prompt', 'policy', 'tools']);

export function diffReleases(a: ReleaseView, b: ReleaseView): ReleaseDiff {
  const model =
    a.profile.model !== b.profile.model
      ? { from: a.profile.model, to: b.profile.model }
      : undefined;
  const promptName = (v: ReleaseView) => `${v.prompt.id} v${v.prompt.version}`;
  const prompt =
    promptName(a) !== promptName(b) || a.prompt.text !== b.prompt.text
      ? {
          from: promptName(a),
          to: promptName(b),
          text: diffLines(a.prompt.text ?? '', b.prompt.text ?? ''),
        }
      : undefined;
  const policyName = (v: ReleaseView) => `${v.policy.id} v${v.policy.version ?? '?'}`;
  const policy =
    policyName(a) !== policyName(b) || a.policy.cedar !== b.policy.cedar
      ? {
          from: policyName(a),
          to: policyName(b),
          text: diffLines(a.policy.cedar ?? '', b.policy.cedar ?? ''),
        }
      : undefined;
  const added = b.profile.tools.filter((t) => !a.profile.tools.includes(t));
  const removed = a.profile.tools.filter((t) => !b.profile.tools.includes(t));
  const tools =
    added.length > 0 || removed.length > 0 || a.toolsVersion !== b.toolsVersion
      ? { added, removed, from: a.toolsVersion, to: b.toolsVersion }
      : undefined;
  const settings: { path: string; from: unknown; to: unknown }[] = [];
  const rest = (v: ReleaseView) =>
    Object.fromEntries(Object.entries(v.profile).filter(([key]) => !OWN_SECTIONS.has(key)));
  compareLeaves(rest(a), rest(b), '', settings);
  compareLeaves({ canary: a.canary }, { canary: b.canary }, '', settings);
  return {
    from: a.release,
    to: b.release,
    ...(model ? { model } : {}),
    ...(prompt ? { prompt } : {}),
    ...(policy ? { policy } : {}),
    ...(tools ? { tools } : {}),
    settings,
    unchanged: !model && !prompt && !policy && !tools && settings.length === 0,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function compareLeaves(
  a: unknown,
  b: unknown,
  path: string,
  out: { path: string; from: unknown; to: unknown }[],
): void {
  if (isRecord(a) && isRecord(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      compareLeaves(a[key], b[key], path ? `${path}.${key}` : key, out);
    }
  } else if (!isDeepStrictEqual(a, b)) {
    out.push({ path, from: a, to: b });
  }
}

/** The diff as text for a terminal: `-`/`+` lines under a heading per part. */
export function renderReleaseDiff(agent: string, diff: ReleaseDiff): string[] {
  const out = [`${agent}: release ${diff.from} -> ${diff.to}`];
  if (diff.unchanged) return [...out, '  no difference'];
  const show = (value: unknown) => (value === undefined ? '(none)' : JSON.stringify(value));
  if (diff.model) out.push(`model: ${diff.model.from} -> ${diff.model.to}`);
  for (const [part, change] of [
    ['prompt', diff.prompt],
    ['policy', diff.policy],
  ] as const) {
    if (!change) continue;
    out.push(
      `${part}: ${change.from} -> ${change.to} (+${change.text.added} -${change.text.removed} lines)`,
    );
    for (const line of change.text.lines)
      if (line.op !== ' ') out.push(`  ${line.op} ${line.text}`);
  }
  if (diff.tools) {
    out.push(`tools: ${diff.tools.from} -> ${diff.tools.to}`);
    for (const tool of diff.tools.added) out.push(`  + ${tool}`);
    for (const tool of diff.tools.removed) out.push(`  - ${tool}`);
  }
  for (const setting of diff.settings) {
    out.push(`${setting.path}: ${show(setting.from)} -> ${show(setting.to)}`);
  }
  return out;
}
