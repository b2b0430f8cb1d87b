import type { FactoryProvider, InjectionToken } from '@nestjs/common';
import type * as NestCommon from '@nestjs/common';
import type { AnyEnvelope, ReleaseRoutedV1 } from '@leash/contracts';
import type { GatePublicKeyConfig } from '@leash/config';
import { OperatorVerifier, type OperatorVerification } from '@leash/signing';
import type { Store } from '@leash/store';
import { REFERENCE_PROMPTS } from '../reference';
import { ReleaseCatalog, type ReleaseApplied } from './release-catalog';

/** What the applier reports; a Nest Logger fits. */
export interface ReleaseLog {
  log(message: string): void;
  warn(message: string): void;
}

/**
 * Who may make releases: the operators whose public keys a service holds.
 * Every release, and every routing change but the canary watch's automatic
 * rollback, must carry an operator's signature that verifies (the control
 * topic is writable by every service, for its acknowledgements). The
 * automatic rollback is unsigned, since the planner holds no operator key;
 * the catalog lets it do nothing but stop the canary it names.
 */
export class ReleaseAuthority {
  private readonly verifier?: OperatorVerifier;

  /** `keys` undefined or empty: no operator is known, and every release event is refused. */
  constructor(keys: readonly GatePublicKeyConfig[] | undefined) {
    if (keys && keys.length > 0) this.verifier = new OperatorVerifier(keys);
  }

  static fromConfig(config: {
    readonly LEASH_OPERATOR_PUBLIC_KEYS?: readonly GatePublicKeyConfig[];
    readonly LEASH_OPERATOR_PUBLIC_KEYS_FILE?: readonly GatePublicKeyConfig[];
  }): ReleaseAuthority {
    return new ReleaseAuthority(
      config.LEASH_OPERATOR_PUBLIC_KEYS ?? config.LEASH_OPERATOR_PUBLIC_KEYS_FILE,
    );
  }

  /** The operator key ids this service accepts; empty when releases are refused. */
  get keyIds(): readonly string[] {
    return this.verifier?.keyIds ?? [];
  }

  check(
    event: Extract<AnyEnvelope, { type: 'leash.releases.created.v1' | 'leash.releases.routed.v1' }>,
  ): OperatorVerification {
    if (event.type === 'leash.releases.routed.v1' && event.data.change === 'auto-rollback') {
      return { ok: true, keyId: '' };
    }
    if (!this.verifier) {
      return {
        ok: false,
        reason:
          'this service holds no operator public key (LEASH_OPERATOR_PUBLIC_KEYS), so it applies no release',
      };
    }
    if (event.type === 'leash.releases.routed.v1' && event.data.basedOn === undefined) {
      // Without it, an old signed change could be published again and undo later ones.
      return { ok: false, reason: 'it does not name the routing it was made from (basedOn)' };
    }
    return this.verifier.verify(event);
  }
}

/**
 * Applies the release events of the control topic to a service's catalog
 * (the kill switch's ControlChannel hands them over, history first). A
 * release no operator signed, or one that conflicts with one already kept,
 * is refused here as in every other store, and logged; it never stops the
 * channel.
 */
export class ReleaseApplier {
  constructor(
    private readonly catalog: ReleaseCatalog,
    private readonly log: ReleaseLog,
    private readonly authority: ReleaseAuthority,
    /** Runs after a routing change is applied (the planner moves running tasks). */
    private readonly onRouted?: (routed: ReleaseRoutedV1, past: boolean) => Promise<void>,
  ) {
    if (authority.keyIds.length === 0) {
      log.warn(
        'no operator public key is configured (LEASH_OPERATOR_PUBLIC_KEYS): every release and routing change on the control topic is refused',
      );
    }
  }

  async handle(event: AnyEnvelope, { past }: { readonly past: boolean }): Promise<void> {
    if (event.type === 'leash.releases.created.v1') {
      const d = event.data;
      const what = `release ${d.agent}@${d.release}`;
      const signed = this.authority.check(event);
      this.report(
        what,
        signed.ok ? await this.catalog.applyCreated(d) : unsigned(signed.reason),
        past,
      );
    } else if (event.type === 'leash.releases.routed.v1') {
      const d = event.data;
      const signed = this.authority.check(event);
      const applied = signed.ok ? await this.catalog.applyRouted(d) : unsigned(signed.reason);
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

function unsigned(reason: string): ReleaseApplied {
  return { outcome: 'refused', reason: `${reason}: nothing changed` };
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
  /** The service's config: it names the operators' public keys. */
  readonly config: InjectionToken;
  readonly service: string;
}): FactoryProvider<ReleaseApplier> {
  return {
    provide: tokens.provide,
    useFactory: (store: Store, config: Parameters<typeof ReleaseAuthority.fromConfig>[0]) => {
      // Required here: only a service (on NestJS) runs this; the catalog's readers need no Nest.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { Logger } = require('@nestjs/common') as typeof NestCommon;
      return new ReleaseApplier(
        new ReleaseCatalog(store, { shippedPrompt }),
        new Logger(`${tokens.service}:releases`),
        ReleaseAuthority.fromConfig(config),
      );
    },
    inject: [tokens.store, tokens.config],
  };
}
