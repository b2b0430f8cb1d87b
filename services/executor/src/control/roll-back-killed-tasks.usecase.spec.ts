import { Logger } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import type { KillScope, KillV1 } from '@leash/contracts';
import { KillSwitch } from '@leash/kill-switch';
import type { Store } from '@leash/store';
import { CompensateTaskUseCase, type ActionRunDoc, type KillGate } from '../execution';
import { RollBackKilledTasksUseCase } from './roll-back-killed-tasks.usecase';

function run(over: Partial<ActionRunDoc>): ActionRunDoc {
  return {
    actionId: 'a',
    tenantId: 'acme',
    taskId: 't1',
    agent: { name: 'support', version: 1 },
    tool: 'issue_refund',
    step: 1,
    riskClass: 'write',
    actionHash: 'h',
    arguments: {},
    reservationId: 'r',
    eventId: 'e',
    status: 'completed',
    starts: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  } as ActionRunDoc;
}

const RUNS = [
  run({ actionId: 'a1', taskId: 't1' }),
  run({ actionId: 'a2', taskId: 't1' }),
  run({ actionId: 'a3', taskId: 't2', agent: { name: 'procurement', version: 1 } }),
  run({ actionId: 'a4', taskId: 't3', tenantId: 'globex' }),
  run({ actionId: 'a5', taskId: 't4', riskClass: 'read' }),
  run({ actionId: 'a6', taskId: 't5', status: 'started' }),
];

function storeOf(runs: ActionRunDoc[]): Store {
  const find = async ({ where = {} }: { where?: Record<string, unknown> } = {}) =>
    runs
      .filter((r) => Object.entries(where).every(([k, v]) => (r as never)[k] === v))
      .map((doc) => ({ id: doc.actionId, version: 1, doc }));
  return { repository: () => ({ find }) } as unknown as Store;
}

function kill(scope: KillScope): KillV1 {
  return {
    commandId: 'k1',
    scope,
    reason: 'undo it',
    rollback: true,
    issuedBy: 'oncall',
    issuedAt: '2026-01-01T00:00:00.000Z',
  };
}

describe('RollBackKilledTasksUseCase', () => {
  const execute = jest.fn();
  const moduleRef = { get: jest.fn(() => ({ execute })) } as unknown as ModuleRef;
  const useCase = new RollBackKilledTasksUseCase(storeOf(RUNS), moduleRef);

  beforeEach(() => execute.mockResolvedValue({ compensated: [], failed: [] }));

  it('the KillSwitch is the executor KillGate', () => {
    const gate: KillGate = new KillSwitch({
      store: storeOf([]),
      service: 'executor',
      instance: 'e',
    });
    expect(gate.covering({ tenantId: 'acme', agent: 'support', taskId: 't1' })).toBeUndefined();
  });

  it("compensates the killed task's completed write actions, once", async () => {
    await useCase.execute(kill({ kind: 'task', taskId: 't1' }));
    expect(moduleRef.get).toHaveBeenCalledWith(CompensateTaskUseCase, { strict: false });
    expect(execute.mock.calls.map(([c]) => `${c.tenantId}/${c.taskId}`)).toEqual(['acme/t1']);
    expect(execute.mock.calls[0][0]).toMatchObject({ reason: 'undo it', commandId: 'k1' });
  });

  it.each<[string, KillScope]>([
    ['a tenant', { kind: 'tenant', tenantId: 'acme' }],
    ['an agent', { kind: 'agent', agent: 'procurement' }],
    ['all', { kind: 'all' }],
  ])('undoes nothing for %s: rollback is per task', async (_name, scope) => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await useCase.execute(kill(scope));
    expect(execute).not.toHaveBeenCalled();
    expect(warn.mock.calls.at(-1)![0]).toContain('rollback applies to a task scope only');
  });

  it('fails transiently when an undo failed, so the kill is delivered again', async () => {
    execute.mockResolvedValue({ compensated: [], failed: [{ actionId: 'a1', error: 'down' }] });
    await expect(useCase.execute(kill({ kind: 'task', taskId: 't1' }))).rejects.toMatchObject({
      transient: true,
      message: 'kill k1: undo failed for a1 (down)',
    });
  });

  it('does nothing when the execution module is not wired', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const unwired = {
      get: jest.fn(() => {
        throw new Error('not found');
      }),
    } as unknown as ModuleRef;
    await new RollBackKilledTasksUseCase(storeOf(RUNS), unwired).execute(
      kill({ kind: 'task', taskId: 't1' }),
    );
    expect(execute).not.toHaveBeenCalled();
    expect(warn.mock.calls[0][0]).toContain(
      'asks for a rollback, but this executor has no execution module',
    );
  });
});
