import type { FactoryProvider, InjectionToken } from '@nestjs/common';
import type * as NestCommon from '@nestjs/common';
import type { Store } from '@leash/store';
import { agentDrift } from '../agent-folders/agent-drift';
import { agentSetFromConfig, type AgentsConfig } from '../agent-folders/agent-set';
import { AgentCatalog, type SeedReport } from './agent-catalog';

/** Seeds the agents the config names into the store's catalog: each agent's first release, once. */
export async function seedCatalog(store: Store, config: AgentsConfig): Promise<SeedReport> {
  return new AgentCatalog(store).seed(agentSetFromConfig(config).agents);
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
  /** Warn where an agent folder and the release in use disagree (one service says it). */
  readonly reportDrift?: boolean;
}): FactoryProvider<SeedReport | undefined> {
  return {
    provide: CATALOG_SEEDED,
    useFactory: async (store: Store, config: AgentsConfig) => {
      const report = await seedCatalog(store, config);
      const added = [...report.profiles, ...report.policies, ...report.tools];
      // Required here: only a service (on NestJS) runs this; the catalog's readers need no Nest.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { Logger } = require('@nestjs/common') as typeof NestCommon;
      const logger = new Logger(`${tokens.service}:catalog`);
      if (added.length > 0) logger.log(`seeded the catalog: ${added.join(', ')}`);
      if (tokens.reportDrift) {
        for (const line of await agentDrift(store, agentSetFromConfig(config).agents)) {
          logger.warn(line);
        }
      }
      return report;
    },
    inject: [tokens.store, tokens.config],
  };
}
