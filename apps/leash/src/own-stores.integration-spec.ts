import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentCatalog, REFERENCE_AGENTS } from '@leash/agents';
import type { RunningService } from '@leash/service-runtime';
import { bootstrapApprovals } from '@leash/service-approvals';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the CLI loads it lazily; a spec may import it
import { bootstrapBudget } from '@leash/service-budget';
import { bootstrapPlanner } from '@leash/service-planner';
import { bootstrapPolicy } from '@leash/service-policy';
import { withDevSigningKeys } from './dev-signing-key';

/*
 * Distributed, each service owns its store (one SQLite file per service). Every
 * service that reads the catalog (profiles, caps, approval chains, policies)
 * must find the reference agents in its own store, not only in the policy
 * service's: a planner on its own store would wait forever for the agent.
 */
describe('each service started on a store of its own', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-own-stores-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const BOOTSTRAPS = {
    policy: bootstrapPolicy,
    budget: bootstrapBudget,
    approvals: bootstrapApprovals,
    planner: bootstrapPlanner,
  } as const;

  it.each(Object.keys(BOOTSTRAPS) as (keyof typeof BOOTSTRAPS)[])(
    '%s finds the reference agents in its own catalog',
    async (name) => {
      const { env } = withDevSigningKeys({
        LEASH_BUS_FILE: join(dir, 'bus.db'),
        LEASH_STORE_FILE: join(dir, `${name}.db`),
        LEASH_PARTITIONS: '2',
      });
      const service: RunningService = await BOOTSTRAPS[name]({ env, logger: false, http: false });
      try {
        const catalog = new AgentCatalog(service.engines.store);
        for (const agent of Object.keys(REFERENCE_AGENTS)) {
          expect((await catalog.profile(agent))?.name).toBe(agent);
        }
      } finally {
        await service.close();
      }
    },
    60_000,
  );
});
