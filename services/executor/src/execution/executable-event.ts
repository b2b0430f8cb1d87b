import type { AnyEnvelope } from '@leash/contracts';
import type { ExecutableEvent } from './verify-action';

/**
 * The executor takes funded actions whose route is allow, and authorized
 * ones. A funded action routed to approve is the approvals service's: it
 * reaches the executor again, with its approval, on actions.authorized.
 */
export function executableEvent(event: AnyEnvelope): ExecutableEvent | undefined {
  if (event.type === 'leash.actions.authorized.v1') return event;
  if (event.type === 'leash.actions.funded.v1' && event.data.decision.route === 'allow')
    return event;
  return undefined;
}
