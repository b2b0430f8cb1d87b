import type { Bus, Delivery, SubscribeOptions, Subscription } from '@leash/bus';
import type { AnyEnvelope } from '@leash/contracts';
import { gateSpan } from '@leash/telemetry';
import type { RunActionUseCase } from './run-action/run-action.usecase';
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

export const EXECUTION_TOPICS = ['actions.funded', 'actions.authorized'] as const;

/** Routes the executor's topics to run-action, as the Nest consumers do, for runs without Nest. */
export function executionHandler(
  runAction: RunActionUseCase,
): (delivery: Delivery) => Promise<void> {
  return async (delivery) => {
    const event = executableEvent(delivery.event);
    if (event) {
      await gateSpan('executor', 'run', event, () =>
        runAction.execute({ event, signal: delivery.signal }),
      );
    }
  };
}

/** Subscribes run-action under the executor's consumer group. */
export function subscribeExecution(
  bus: Bus,
  runAction: RunActionUseCase,
  options: SubscribeOptions & { readonly group?: string } = {},
): Promise<Subscription> {
  const { group = 'executor', ...subscribe } = options;
  return bus.subscribe(group, EXECUTION_TOPICS, executionHandler(runAction), subscribe);
}
