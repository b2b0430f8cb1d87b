import { listenOnBus, type BusListener } from '@leash/bus/nest';
import { waitFor } from '@leash/testing';
import { decisionId, decisionRecords } from './decisions.aggregates';
import { DecisionsModule } from './decisions.module';
import {
  completed,
  openPolicyHarness,
  proposal,
  taskRequested,
  type PolicyHarness,
} from './test/policy-harness';

/*
 * The gate's consumers over a gate the spec built (the benchmark's way):
 * every topic it reads reaches its use case, so a proposal that overtook its task's input, or
 * the output of the step before, is decided once they arrive.
 */
describe('the policy consumers on the embedded bus', () => {
  let h: PolicyHarness;
  let subscription: BusListener;

  beforeEach(async () => {
    h = await openPolicyHarness();
    subscription = await listenOnBus({
      bus: h.engines.bus,
      group: 'policy',
      module: DecisionsModule.forGate(h.gate),
    });
  });

  afterEach(async () => {
    await subscription.close();
    await h.close();
  });

  const decisionOf = (actionId: string) =>
    waitFor(
      async () =>
        (await h.engines.store.repository(decisionRecords).get(decisionId('acme', actionId)))?.doc,
      {
        description: `the decision on ${actionId}`,
      },
    );

  it('decides the proposals that overtook the input and an earlier output, with that output', async () => {
    const read = proposal({ taskId: 'sub-1', step: 1, arguments: { customer: 'C-1043' } });
    await h.engines.bus.publish('actions.proposed', read);
    await h.engines.bus.publish(
      'tasks.requested',
      taskRequested({ taskId: 'sub-1', requestedBy: 'jane@example.com' }),
    );
    expect((await decisionOf(read.data.actionId)).outcome).toBe('allow');

    const refund = proposal({
      taskId: 'sub-1',
      step: 2,
      tool: 'issue_refund',
      arguments: { orderId: 'O-5003', amountUsd: 30, reason: 'goodwill' },
      tainted: [],
    });
    await h.engines.bus.publish('actions.proposed', refund);
    await h.engines.bus.publish(
      'actions.completed',
      completed(read, { orders: [{ orderId: 'O-5003', item: 'Standing desk' }] }),
    );
    const decided = await decisionOf(refund.data.actionId);
    expect(decided).toMatchObject({ outcome: 'approve' });
    expect(decided.determiningPolicies).toContain('unverified-order-needs-a-human');
  });
});
