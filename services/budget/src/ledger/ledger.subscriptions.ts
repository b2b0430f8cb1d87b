import type { Bus, Delivery, SubscribeOptions, Subscription } from '@leash/bus';
import { gateSpan } from '@leash/telemetry';
import type { LedgerUseCases } from './ledger.factory';

/**
 * Routes the ledger's topics to its use cases, as the Nest consumers do, for
 * code that runs the ledger on a bus without Nest (integration tests, the
 * benchmark).
 */
export function ledgerHandler(useCases: LedgerUseCases): (delivery: Delivery) => Promise<void> {
  return async (delivery) => {
    const event = delivery.event;
    // The same gate spans as the Nest consumers, so traces read alike however the ledger runs.
    switch (event.type) {
      case 'leash.actions.decided.v1':
        return gateSpan('budget', 'fund', event, () =>
          useCases.fundDecidedAction.execute({ event }),
        );
      case 'leash.budget.requested.v1':
        return gateSpan('budget', 'reserve', event, () =>
          useCases.decideBudgetRequest.execute({ event, attempt: delivery.attempt }),
        );
      case 'leash.usage.recorded.v1':
        return gateSpan('budget', 'settle', event, () => useCases.settleUsage.execute({ event }));
      case 'leash.tasks.requested.v1':
        return gateSpan('budget', 'register_task', event, () =>
          useCases.registerTask.execute({ event }),
        );
      case 'leash.actions.rejected.v1':
        await useCases.releaseUnrunAction.execute({ event });
        return;
      default:
        return;
    }
  };
}

export const LEDGER_TOPICS = [
  'actions.decided',
  'budget.requests',
  'usage.recorded',
  'tasks.requested',
  'actions.rejected',
] as const;

/** Subscribes the ledger under the budget service's consumer group. */
export function subscribeLedger(
  bus: Bus,
  useCases: LedgerUseCases,
  options: SubscribeOptions & { readonly group?: string } = {},
): Promise<Subscription> {
  const { group = 'budget', ...subscribe } = options;
  return bus.subscribe(group, LEDGER_TOPICS, ledgerHandler(useCases), subscribe);
}
