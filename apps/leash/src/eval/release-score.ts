import { ReleaseCatalog, signedReleaseEnvelope, type ReleaseView } from '@leash/agents';
import type { ReleaseCreatedV1, ReleaseRoutedV1 } from '@leash/contracts';
import { generateGateKey, type GateSigningKey } from '@leash/signing';
import { waitFor } from '@leash/testing';
import { GOLDEN_SCENARIOS, runGoldenSet, type GoldenReport } from './golden-set';
import { LeashUnderTest } from './leash-under-test';

/** How a release does on its agent's golden tasks. */
export interface ReleaseScore {
  readonly release: number;
  readonly passed: number;
  readonly total: number;
  /** The golden tasks it failed, by scenario id. */
  readonly failed: readonly string[];
}

/** Numbers far from any real release, so an evaluated copy never meets one. */
const EVAL_OFFSET = 100_000;

/**
 * Runs an agent's golden tasks (the reference scenarios tagged `golden`)
 * under a release, on fresh temp engines in this process: the release is
 * installed there as a copy (its own prompt and policy versions) and made
 * current, then every task runs as `npm run eval` runs it. Undefined when
 * the agent has no golden tasks (a team's own agent).
 */
export async function goldenScoreOf(view: ReleaseView): Promise<ReleaseScore | undefined> {
  const report = await goldenReportOf(view);
  if (!report) return undefined;
  return {
    release: view.release,
    passed: report.passed,
    total: report.results.length,
    failed: report.results.filter((r) => !r.passed).map((r) => r.scenario.id),
  };
}

/** The golden report of a release's agent's tasks under that release; undefined when it has none. */
export async function goldenReportOf(view: ReleaseView): Promise<GoldenReport | undefined> {
  const scenarios = GOLDEN_SCENARIOS.filter((s) => s.agent === view.agent);
  if (scenarios.length === 0) return undefined;
  const content = contentOf(view);
  return runGoldenSet({
    scenarios,
    system: async (tenants) => {
      // The copy is signed with a key made for this run alone, which only that system trusts.
      const operator = generateGateKey('eval-operator');
      const system = await LeashUnderTest.start({
        tenants,
        inheritEnv: false,
        env: {
          ...evalEnv(),
          LEASH_OPERATOR_PUBLIC_KEYS: `${operator.publicKey.id}:${operator.publicKey.publicKey}`,
        },
      });
      try {
        await installReleaseCopy(system, content, operator.signingKey, {
          release: EVAL_OFFSET + view.release,
          description: `evaluated copy of ${view.agent}@${view.release}`,
          author: 'eval',
        });
      } catch (error) {
        await system.stop();
        throw error;
      }
      return system;
    },
  });
}

/**
 * The variables the evaluated system keeps from this process: where the agents
 * are and what models cost. Not the engines, keys or model endpoint of the
 * deployment the CLI talks to: the golden set runs embedded, with dev keys and
 * the scripted model, so it checks a release's policy, tools and caps against
 * the golden expectations (`npm run eval` with a model endpoint scores a model).
 */
export function evalEnv(): Record<string, string> {
  const kept = [
    'PATH',
    'HOME',
    'TMPDIR',
    'LEASH_AGENT_DIRS',
    'LEASH_SEED_REFERENCE_AGENTS',
    'LEASH_TOOL_MODULES',
    'LEASH_MODEL_PRICES',
  ];
  return Object.fromEntries(
    kept.flatMap((name) => (process.env[name] !== undefined ? [[name, process.env[name]!]] : [])),
  );
}

/** What a release copy is made of: a release's content, wherever it was read from. */
export type ReleaseContent = Pick<
  ReleaseView,
  'agent' | 'release' | 'profile' | 'toolsVersion' | 'canary'
> & {
  readonly prompt: { readonly id: string; readonly version: string; readonly text: string };
  readonly policy: { readonly id: string; readonly version?: number; readonly cedar: string };
};

/**
 * Installs `content` in a scratch system as release `release` of its agent,
 * with prompt and policy versions of its own, signed with the scratch
 * system's operator key, and makes it current; resolves once the catalog has it.
 */
export async function installReleaseCopy(
  system: LeashUnderTest,
  content: ReleaseContent,
  operatorKey: GateSigningKey,
  copy: { readonly release: number; readonly description: string; readonly author: string },
): Promise<void> {
  const { release } = copy;
  const at = new Date().toISOString();
  const created: ReleaseCreatedV1 = {
    agent: content.agent,
    release,
    description: copy.description,
    author: copy.author,
    createdAt: at,
    profile: {
      ...content.profile,
      version: release,
      prompt: { id: content.prompt.id, version: `eval-${release}` },
      policy: { id: content.policy.id, version: release },
    },
    prompt: { id: content.prompt.id, version: `eval-${release}`, text: content.prompt.text },
    policy: {
      id: content.policy.id,
      version: release,
      cedar: content.policy.cedar,
      description: '',
    },
    toolsVersion: content.toolsVersion,
    canary: content.canary,
  };
  const routed: ReleaseRoutedV1 = {
    agent: content.agent,
    change: 'promote',
    release,
    current: release,
    history: [],
    moveRunning: false,
    reason: copy.description,
    by: copy.author,
    at,
    basedOn: '',
  };
  for (const event of [
    { type: 'leash.releases.created.v1', data: created },
    { type: 'leash.releases.routed.v1', data: routed },
  ] as const) {
    await system.bus.publish(
      'control',
      signedReleaseEnvelope(event, operatorKey, { source: copy.author }),
    );
  }
  const catalog = new ReleaseCatalog(system.store);
  await waitFor(
    async () => (await catalog.routing(content.agent))?.current === release || undefined,
    {
      timeoutMs: 30_000,
      description: `${copy.description} to be current`,
    },
  );
}

/** A release's content from a catalog view; refuses one whose prompt or policy text the catalog lacks. */
export function contentOf(view: ReleaseView): ReleaseContent {
  if (view.prompt.text === undefined || view.policy.cedar === undefined) {
    throw new Error(
      `release ${view.agent}@${view.release}: its prompt or policy text is not in this catalog, so it cannot be evaluated`,
    );
  }
  return {
    ...view,
    prompt: { ...view.prompt, text: view.prompt.text },
    policy: { ...view.policy, cedar: view.policy.cedar },
  };
}
