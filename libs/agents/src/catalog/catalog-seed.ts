import type { FactoryProvider, InjectionToken } from '@nestjs/common';
import type * as NestCommon from '@nestjs/common';
import { z } from 'zod';
import { variable, type DeepReadonly } from '@leash/config';
import type { Store } from '@leash/store';
import { REFERENCE_AGENTS } from '../reference';
import { AgentCatalog, type SeedReport } from './agent-catalog';

/**
 * The variable of every service that reads the catalog. Each service owns its
 * store (one file per service on SQLite), so each seeds its own: a planner on
 * its own store would otherwise wait forever for an agent only the policy
 * service's store holds.
 */
export const CATALOG_SEED_VARIABLES = {
  LEASH_SEED_REFERENCE_AGENTS: variable(
    z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    {
      description:
        "Put the reference agents (it-helpdesk, procurement, support) in the service's catalog at start-up, leaving existing versions as they are.",
      expected: 'true or false',
    },
  ),
};

export type CatalogSeedConfig = DeepReadonly<z.output<z.ZodObject<typeof CATALOG_SEED_VARIABLES>>>;

/** Seeds the reference agents into the store's catalog when the config asks for it. */
export async function seedCatalog(
  store: Store,
  config: CatalogSeedConfig,
): Promise<SeedReport | undefined> {
  if (!config.LEASH_SEED_REFERENCE_AGENTS) return undefined;
  return new AgentCatalog(store).seed(Object.values(REFERENCE_AGENTS));
}

/** Injection token of the seed report; the catalog is seeded when it resolves. */
export const CATALOG_SEEDED = Symbol('leash:catalog-seeded');

/**
 * A provider that seeds the catalog while the app initialises, so before any
 * consumer starts. The tokens are the service's store and config.
 */
export function catalogSeedProvider(tokens: {
  readonly store: InjectionToken;
  readonly config: InjectionToken;
  readonly service: string;
}): FactoryProvider<SeedReport | undefined> {
  return {
    provide: CATALOG_SEEDED,
    useFactory: async (store: Store, config: CatalogSeedConfig) => {
      const report = await seedCatalog(store, config);
      const added = report ? [...report.profiles, ...report.policies, ...report.tools] : [];
      if (added.length > 0) {
        // Required here: only a service (on NestJS) runs this; the catalog's readers need no Nest.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { Logger } = require('@nestjs/common') as typeof NestCommon;
        new Logger(`${tokens.service}:catalog`).log(`seeded the catalog: ${added.join(', ')}`);
      }
      return report;
    },
    inject: [tokens.store, tokens.config],
  };
}
