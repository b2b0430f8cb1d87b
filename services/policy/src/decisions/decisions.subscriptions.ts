import type { Bus, Delivery, SubscribeOptions, Subscription } from '@leash/bus';
import { gateSpan } from '@leash/telemetry';
import { decideActionCommand } from './decide-action/decide-action.command';
import type { PolicyGate } from './policy-gate';

/**
 * Routes the policy gate's topics to its use cases, as the Nest consumers
 * do, for code that runs the gate on a bus without Nest (integration tests,
 * the benchmark).
 */
export function policyHandler(
  gate: Pick<PolicyGate, 'decideAction' | 'recordTaskInput' | 'recordActionOutcome' | 'forgetTask'>,
): (delivery: Delivery) => Promise<void> {
  return async (delivery) => {
    const event = delivery.event;
    switch (event.type) {
      case 'leash.actions.proposed.v1':
        await gateSpan('policy', 'decide', event, () =>
          gate.decideAction.execute(decideActionCommand(event, delivery.headers)),
        );
        return;
      case 'leash.tasks.requested.v1':
        await gateSpan('policy', 'record_input', event, () =>
          gate.recordTaskInput.execute({ event }),
        );
        return;
      case 'leash.actions.completed.v1':
      case 'leash.actions.rejected.v1':
        await gateSpan('policy', 'record_outcome', event, () =>
          gate.recordActionOutcome.execute({ event }),
        );
        return;
      case 'leash.tasks.finished.v1':
        await gate.forgetTask.execute({ event });
        return;
      default:
        return;
    }
  };
}

export const POLICY_TOPICS = [
  'actions.proposed',
  'tasks.requested',
  'actions.completed',
  'actions.rejected',
  'tasks.finished',
] as const;

/** Subscribes the policy gate under the policy service's consumer group. */
export function subscribePolicy(
  bus: Bus,
  gate: Parameters<typeof policyHandler>[0],
  options: SubscribeOptions & { readonly group?: string } = {},
): Promise<Subscription> {
  const { group = 'policy', ...subscribe } = options;
  return bus.subscribe(group, POLICY_TOPICS, policyHandler(gate), subscribe);
}
