import { createBus, InMemoryTransport, type Bus } from '@leash/bus';
import { createEnvelope, type AnyEnvelope, type Envelope } from '@leash/contracts';
import { generateVerdictKeyPair, verdictSigningKey, verifyVerdictProof } from '@leash/signing';
import { waitFor } from '@leash/testing';
import { LeashClient } from './leash-client';

describe('LeashClient', () => {
  let bus: Bus;
  let client: LeashClient;
  const seen: AnyEnvelope[] = [];

  beforeEach(async () => {
    seen.length = 0;
    bus = createBus({ transport: new InMemoryTransport(), source: 'test' });
    client = new LeashClient({ bus, source: 'helpdesk-portal' });
    await bus.subscribe(
      'observer',
      ['tasks.requested', 'approvals.decided'],
      async (delivery) => {
        seen.push(delivery.event);
      },
      { fromBeginning: true },
    );
  });

  afterEach(() => bus.close());

  describe('submitTask', () => {
    it('publishes tasks.requested for the tenant and returns the task id', async () => {
      const taskId = await client.submitTask({
        tenantId: 'acme',
        agent: 'it-helpdesk',
        input: 'I am locked out of my laptop',
        requestedBy: 'pat@acme.example',
        metadata: { ticket: 'INC-1' },
        deadlineAt: new Date('2030-01-01T00:00:00Z'),
      });
      expect(taskId).toMatch(/^[0-9a-f-]{36}$/);
      const [event] = await waitFor(() => (seen.length > 0 ? seen : undefined));
      expect(event).toMatchObject({
        type: 'leash.tasks.requested.v1',
        source: 'helpdesk-portal',
        tenantId: 'acme',
        taskId,
        data: {
          agent: 'it-helpdesk',
          input: 'I am locked out of my laptop',
          requestedBy: 'pat@acme.example',
          metadata: { ticket: 'INC-1' },
          deadlineAt: '2030-01-01T00:00:00.000Z',
        },
      });
    });

    it('keeps a task id it is given, and refuses an invalid task before the bus', async () => {
      await expect(
        client.submitTask({ tenantId: 'acme', agent: 'support', input: 'refund', taskId: 'ext-7' }),
      ).resolves.toBe('ext-7');
      await expect(
        client.submitTask({ tenantId: 'acme', agent: 'support', input: '' }),
      ).rejects.toThrow(/invalid data/);
    });
  });

  describe('watchTask', () => {
    function finished(taskId: string) {
      return createEnvelope(
        'leash.tasks.finished.v1',
        {
          taskId,
          agent: { name: 'support', version: 1 },
          status: 'succeeded',
          reason: 'done',
          trajectory: [],
          cost: { usdMicros: 0, inputTokens: 0, outputTokens: 0, toolCalls: 0 },
          versions: {},
          startedAt: '2030-01-01T00:00:00Z',
          finishedAt: '2030-01-01T00:01:00Z',
        },
        { source: 'planner', tenantId: 'acme', taskId },
      );
    }

    it("passes the task's events, from before the watch too, and resolves when it finishes", async () => {
      const taskId = await client.submitTask({ tenantId: 'acme', agent: 'support', input: 'hi' });
      await client.submitTask({ tenantId: 'acme', agent: 'support', input: 'another task' });
      const events: AnyEnvelope[] = [];
      const watch = await client.watchTask(taskId, (event) => {
        events.push(event);
      });
      await bus.publish('tasks.finished', finished(taskId));
      const done = await watch.finished;
      expect(done.data.status).toBe('succeeded');
      await waitFor(() => events.length === 2);
      expect(events.map((e) => e.type).sort()).toEqual([
        'leash.tasks.finished.v1',
        'leash.tasks.requested.v1',
      ]);
      expect(events.every((e) => e.taskId === taskId)).toBe(true);
      await watch.close();
    });

    it('keeps watching when the callback throws', async () => {
      const errors: unknown[] = [];
      const taskId = await client.submitTask({ tenantId: 'acme', agent: 'support', input: 'hi' });
      const watch = await client.watchTask(
        taskId,
        () => {
          throw new Error('dashboard down');
        },
        { onError: (error) => errors.push(error) },
      );
      await bus.publish('tasks.finished', finished(taskId));
      await watch.finished;
      expect(errors).toHaveLength(2);
      await watch.close();
    });
  });

  describe('verdicts', () => {
    const ref = {
      approvalId: 'apr_1',
      actionHash: 'ab'.repeat(32),
      tenantId: 'acme',
      taskId: 'task-1',
    };

    const keys = generateVerdictKeyPair();

    it('publishes approve, reject and edit on approvals.decided, bound to the action hash and signed', async () => {
      const signing = new LeashClient({ bus, source: 'reviewer', verdictKey: keys.privateKeyPem });
      await signing.approve(ref, 'alice', 'fine');
      await signing.reject(ref, 'bob', 'not without a receipt');
      await signing.edit(ref, 'carol', { amountUsd: 10 });
      const decided = (await waitFor(() =>
        seen.length === 3 ? seen : undefined,
      )) as Envelope<'leash.approvals.decided.v1'>[];
      for (const event of decided) {
        expect(verifyVerdictProof(event, event.data.proof!, keys.publicKey)).toBe(true);
      }
      expect(
        decided.map((e) => {
          const { proof: _proof, ...data } = e.data;
          return [e.tenantId, e.taskId, data];
        }),
      ).toEqual([
        [
          'acme',
          'task-1',
          {
            verdict: 'approve',
            approvalId: 'apr_1',
            actionHash: ref.actionHash,
            reviewer: 'alice',
            comment: 'fine',
          },
        ],
        [
          'acme',
          'task-1',
          {
            verdict: 'reject',
            approvalId: 'apr_1',
            actionHash: ref.actionHash,
            reviewer: 'bob',
            feedback: 'not without a receipt',
          },
        ],
        [
          'acme',
          'task-1',
          {
            verdict: 'edit',
            approvalId: 'apr_1',
            actionHash: ref.actionHash,
            reviewer: 'carol',
            arguments: { amountUsd: 10 },
          },
        ],
      ]);
    });

    it('signs as a trusted front end when given its key, per verdict', async () => {
      const inbox = verdictSigningKey(keys.privateKeyPem, { frontEnd: 'web-inbox' });
      const event = await client.decide(ref, 'dana', { verdict: 'approve' }, { key: inbox });
      expect(event.data.proof).toMatchObject({ by: 'front_end', frontEnd: 'web-inbox' });
      expect(verifyVerdictProof(event, event.data.proof!, keys.publicKey)).toBe(true);
    });

    it('refuses to send a verdict it cannot sign', async () => {
      await expect(client.approve(ref, 'alice')).rejects.toThrow(
        /must be signed: give the client a verdictKey/,
      );
    });

    it('refuses a rejection without feedback: the planner needs words to act on', async () => {
      await expect(
        client.decide(ref, 'bob', { verdict: 'reject', feedback: '' }, { key: keys.privateKeyPem }),
      ).rejects.toThrow(/invalid data/);
    });
  });
});
