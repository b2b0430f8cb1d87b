import type { GateSigningKeyConfig } from '@leash/config';
import { ReleaseCreatedV1, ReleaseRoutedV1, createEnvelope, type Envelope } from '@leash/contracts';
import { proveOperatorEvent } from '@leash/signing';

/** A release event before it is signed. */
export type OperatorReleaseEvent =
  | { readonly type: 'leash.releases.created.v1'; readonly data: ReleaseCreatedV1 }
  | { readonly type: 'leash.releases.routed.v1'; readonly data: ReleaseRoutedV1 };

/**
 * A release event as the services read it, signed with an operators' key.
 * Signed as parsed, defaults filled in: the bytes every service checks.
 */
export function signedReleaseEnvelope(
  event: OperatorReleaseEvent,
  key: GateSigningKeyConfig,
  options: { readonly source: string; readonly now?: Date },
): Envelope<'leash.releases.created.v1'> | Envelope<'leash.releases.routed.v1'> {
  const now = options.now ?? new Date();
  if (event.type === 'leash.releases.created.v1') {
    const data = ReleaseCreatedV1.parse(event.data);
    const proof = proveOperatorEvent({ type: event.type, data }, key, now);
    return createEnvelope(event.type, { ...data, proof }, { source: options.source });
  }
  const data = ReleaseRoutedV1.parse(event.data);
  const proof = proveOperatorEvent({ type: event.type, data }, key, now);
  return createEnvelope(event.type, { ...data, proof }, { source: options.source });
}
