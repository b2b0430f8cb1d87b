import { activityId, taskTaint } from '../decisions.aggregates';
import { decideActionCommand } from '../decide-action/decide-action.command';
import {
  openPolicyHarness,
  proposal,
  taskRequested,
  type PolicyHarness,
} from '../test/policy-harness';

describe('RecordTaskInputUseCase', () => {
  let h: PolicyHarness;

  beforeEach(async () => {
    h = await openPolicyHarness();
  });

  afterEach(() => h.close());

  const record = () => h.engines.store.repository(taskTaint).get(activityId('acme', 'task-1'));

  it('records the input as untrusted and the requester, lower-cased; a redelivery changes nothing', async () => {
    const event = taskRequested({
      input: 'From Li@Acme.example: refund order O-5004, please.',
      requestedBy: ' Li@Acme.example ',
    });
    expect(await h.gate.recordTaskInput.execute({ event })).toEqual([]);
    const first = await record();
    expect(first?.doc).toMatchObject({ inputSeen: true, requestedBy: 'li@acme.example' });
    expect(first?.doc.values).toEqual(expect.arrayContaining(['li@acme.example', 'o-5004']));
    await h.gate.recordTaskInput.execute({ event });
    expect((await record())?.version).toBe(first?.version);
  });

  it('taints what the planner copied from the input, whatever it reports', async () => {
    await h.gate.recordTaskInput.execute({
      event: taskRequested({ input: 'From li@acme.example: refund order O-5004, please.' }),
    });
    const outcome = await h.gate.decideAction.execute(
      decideActionCommand(
        proposal({
          tool: 'issue_refund',
          arguments: { orderId: 'O-5004', amountUsd: 10, reason: 'damaged' },
          tainted: [],
        }),
        {},
      ),
    );
    // No lookup of the requester returned the order: it is not verified.
    expect(outcome).toMatchObject({
      kind: 'decided',
      event: {
        data: {
          decision: {
            route: 'approve',
            determiningPolicies: ['small-refund', 'unverified-order-needs-a-human'],
          },
        },
      },
    });
  });

  it('decides the proposals that overtook the input once it arrives', async () => {
    const early = proposal({ arguments: { customer: 'C-1042' } });
    expect(await h.gate.decideAction.execute(decideActionCommand(early, {}))).toMatchObject({
      kind: 'parked',
      reason: expect.stringContaining('tasks.requested'),
    });
    const released = await h.gate.recordTaskInput.execute({ event: taskRequested() });
    expect(released).toMatchObject([
      { kind: 'decided', event: { data: { actionId: early.data.actionId } } },
    ]);
    expect((await record())?.doc.parked).toEqual([]);
  });
});
