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
  if (view.prompt.text === undefined || view.policy.cedar === undefined) {
    throw new Error(
      `release ${view.agent}@${view.release}: its prompt or policy text is not in this catalog, so it cannot be evaluated`,
    );
  }
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
        await install(system, view, operator.signingKey);
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
function evalEnv(): Record<string, string> {
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

async function install(
  system: LeashUnderTest,
  view: ReleaseView,
  operatorKey: GateSigningKey,
): Promise<void> {
  const release = EVAL_OFFSET + view.release;
  const at = new Date().toISOString();
  const created: ReleaseCreatedV1 = {
    agent: view.agent,
    release,
    description: `evaluated copy of ${view.agent}@${view.release}`,
    author: 'eval',
    createdAt: at,
    profile: {
      ...view.profile,
      version: release,
      prompt: { id: view.prompt.id, version: `eval-${release}` },
      policy: { id: view.policy.id, version: release },
    },
    prompt: { id: view.prompt.id, version: `eval-${release}`, text: view.prompt.text! },
    policy: { id: view.policy.id, version: release, cedar: view.policy.cedar!, description: '' },
    toolsVersion: view.toolsVersion,
    canary: view.canary,
  };
  const routed: ReleaseRoutedV1 = {
    agent: view.agent,
    change: 'promote',
    release,
    current: release,
    history: [],
    moveRunning: false,
    reason: 'evaluation',
    by: 'eval',
    at,
    basedOn: '',
  };
  for (const event of [
    { type: 'leash.releases.created.v1', data: created },
    { type: 'leash.releases.routed.v1', data: routed },
  ] as const) {
    await system.bus.publish(
      'control',
      signedReleaseEnvelope(event, operatorKey, { source: 'eval' }),
    );
  }
  const catalog = new ReleaseCatalog(system.store);
  await waitFor(async () => (await catalog.routing(view.agent))?.current === release || undefined, {
    timeoutMs: 30_000,
    description: `the evaluated copy of ${view.agent}@${view.release} to be current`,
  });
}
