import type { FactoryProvider, InjectionToken } from '@nestjs/common';
import type * as NestCommon from '@nestjs/common';
import type { AnyEnvelope, ReleaseRoutedV1 } from '@leash/contracts';
import type { Store } from '@leash/store';
import { REFERENCE_PROMPTS } from '../reference';
import { ReleaseCatalog, type ReleaseApplied } from './release-catalog';

/** What the applier reports; a Nest Logger fits. */
export interface ReleaseLog {
  log(message: string): void;
  warn(message: string): void;
}

/**
 * Applies the release events of the control topic to a service's catalog
 * (the kill switch's ControlChannel hands them over, history first). A
 * release that conflicts with one already kept is refused here as in every
 * other store, and logged; it never stops the channel.
 */
export class ReleaseApplier {
  constructor(
    private readonly catalog: ReleaseCatalog,
    private readonly log: ReleaseLog,
    /** Runs after a routing change is applied (the planner moves running tasks). */
    private readonly onRouted?: (routed: ReleaseRoutedV1, past: boolean) => Promise<void>,
  ) {}

  async handle(event: AnyEnvelope, { past }: { readonly past: boolean }): Promise<void> {
    if (event.type === 'leash.releases.created.v1') {
      const d = event.data;
      this.report(`release ${d.agent}@${d.release}`, await this.catalog.applyCreated(d), past);
    } else if (event.type === 'leash.releases.routed.v1') {
      const d = event.data;
      const applied = await this.catalog.applyRouted(d);
      this.report(
        `${d.change} of ${d.agent}@${d.release} (current @${d.current}${d.canary ? `, canary @${d.canary.release} at ${d.canary.percent}%` : ''})`,
        applied,
        past,
      );
      if (applied.outcome !== 'refused') await this.onRouted?.(d, past);
    }
  }

  private report(what: string, applied: ReleaseApplied, past: boolean): void {
    if (applied.outcome === 'refused') this.log.warn(`${what} refused: ${applied.reason}`);
    else if (applied.outcome === 'applied' && !past) this.log.log(`${what} applied`);
  }
}

/** Prompts the reference agents ship as code: their seeded releases' texts. */
export function shippedPrompt(id: string, version: string) {
  return REFERENCE_PROMPTS.find((p) => p.id === id && p.version === version);
}

/**
 * The Nest provider of a service's release applier, under the kill switch's
 * CONTROL_EXTENSION token (passed in: this lib does not depend on the kill switch).
 */
export function releaseApplierProvider(tokens: {
  readonly provide: InjectionToken;
  readonly store: InjectionToken;
  readonly service: string;
}): FactoryProvider<ReleaseApplier> {
  return {
    provide: tokens.provide,
    useFactory: (store: Store) => {
      // Required here: only a service (on NestJS) runs this; the catalog's readers need no Nest.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { Logger } = require('@nestjs/common') as typeof NestCommon;
      return new ReleaseApplier(
        new ReleaseCatalog(store, { shippedPrompt }),
        new Logger(`${tokens.service}:releases`),
      );
    },
    inject: [tokens.store],
  };
}
