import { LeashClient } from '@leash/client';
import { ControlCommander } from '@leash/kill-switch';
import { approvalRequests, createApprovalQueries } from '@leash/service-approvals';
import { Transfer } from '@leash/service-executor';
import { REFERENCE_SCENARIOS } from '@leash/service-planner';
import { waitFor } from '@leash/testing';
import { LeashUnderTest, TEST_REVIEWERS, testReviewerKey } from '../eval/leash-under-test';

/*
 * A task killed while an action waits for reviewers takes the request with
 * it. Before, the request outlived the task: after a resume, an approval of
 * it authorized the action and the executor moved the money for a task that
 * was over.
 */

const TENANT = 'killwait';

describe('a task killed while an action waits for approval', () => {
  let system: LeashUnderTest;

  beforeAll(async () => {
    // Nobody answers on their own: the test is the reviewer.
    system = await LeashUnderTest.start({ tenants: [TENANT], reviewers: false });
  });

  afterAll(() => system?.stop());

  it('cancels the request, refuses a later approval, and never runs the action', async () => {
    const pay = REFERENCE_SCENARIOS.find((s) => s.id === 'procurement.pay-small-invoice')!;
    const taskId = await system.submit(pay, { tenantId: TENANT });
    const requests = system.store.repository(approvalRequests);
    const [pending] = await waitFor(
      async () => {
        const found = await requests.find({ where: { taskId } });
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 20_000, description: 'the transfer to wait for reviewers' },
    );
    expect(pending!.doc).toMatchObject({ status: 'pending' });

    const commander = await ControlCommander.open(system.leash.engines.bus, { source: 'e2e' });
    try {
      await commander.kill({ scope: { kind: 'task', taskId }, reason: 'hold', issuedBy: 'e2e' });
      const [record] = await system.finished([taskId]);
      expect(record!.finished?.status).toBe('killed');
      await waitFor(async () => (await requests.get(pending!.id))?.doc.status === 'cancelled', {
        timeoutMs: 20_000,
        description: 'the request to be cancelled with its task',
      });
      await commander.resume({ scope: { kind: 'task', taskId }, reason: 'go on', issuedBy: 'e2e' });
    } finally {
      await commander.close();
    }

    const client = new LeashClient({
      bus: system.leash.engines.bus,
      source: 'e2e-reviewer',
      verdictKey: testReviewerKey(TEST_REVIEWERS[0]),
    });
    const verdict = await client.approve(
      { ...pending!.doc, tenantId: TENANT, taskId },
      TEST_REVIEWERS[0],
    );
    const queries = createApprovalQueries(system.store);
    const recorded = await waitFor(() => queries.verdict(verdict.id), {
      timeoutMs: 20_000,
      description: 'the late approval to be recorded',
    });
    expect(recorded).toMatchObject({ outcome: 'refused', refusal: 'closed' });
    expect(await system.store.repository(Transfer).find({ where: { taskId } })).toEqual([]);
  });
});
