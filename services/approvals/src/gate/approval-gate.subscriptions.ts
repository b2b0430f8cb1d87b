import type { Bus, Delivery, SubscribeOptions, Subscription } from '@leash/bus';
import type { ApprovalGate } from './approval-gate.factory';
import { tracedRecordVerdict, tracedRequestApproval } from './approval-spans';

/**
 * Routes the gate's topics to its use cases, as the Nest consumers do, for
 * code that runs the gate on a bus without Nest (tests, benchmarks).
 */
export function approvalGateHandler(gate: ApprovalGate): (delivery: Delivery) => Promise<void> {
  return async (delivery) => {
    const event = delivery.event;
    switch (event.type) {
      case 'leash.actions.funded.v1':
        await tracedRequestApproval(gate.deps.store, event, () =>
          gate.requestApproval.execute({ event }),
        );
        return;
      case 'leash.approvals.decided.v1':
        await tracedRecordVerdict(gate.deps.store, event, () =>
          gate.recordVerdict.execute({ event }),
        );
        return;
      case 'leash.tasks.finished.v1':
        await gate.closeTaskApprovals.execute({ event });
        return;
      default:
        return;
    }
  };
}

export const APPROVAL_GATE_TOPICS = [
  'actions.funded',
  'approvals.decided',
  'tasks.finished',
] as const;

/** Subscribes the gate under the approvals service's consumer group. */
export function subscribeApprovalGate(
  bus: Bus,
  gate: ApprovalGate,
  options: SubscribeOptions & { readonly group?: string } = {},
): Promise<Subscription> {
  const { group = 'approvals', ...subscribe } = options;
  return bus.subscribe(group, APPROVAL_GATE_TOPICS, approvalGateHandler(gate), subscribe);
}
