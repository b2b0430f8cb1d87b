import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { BASE_ENV, extendEnv } from '@leash/config';
import { startService } from '@leash/service-runtime';
import { waitFor } from '@leash/testing';
import { ControlModule } from '../control/control.module';
import { AGENT_LOOP_REQUIREMENTS, AGENT_LOOP_VARIABLES } from './agent-loop.config';
import { AGENT_LOOP, AgentLoopModule } from './agent-loop.module';
import type { AgentLoop } from './agent-loop.factory';
import { ScenarioRegistry, scenarioTask } from './scenarios/reference-scenarios';
import { MapProfiles } from './test/loop-harness';
import { PLANNER_TASKS } from './task-state/planner-task.aggregate';

/** The Nest wiring: config, engines, the kill switch and the loop resolve, and a task starts. */
describe('AgentLoopModule', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'leash-planner-module-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts in a service with the scripted model and takes a task off the bus', async () => {
    @Module({
      imports: [
        ControlModule,
        AgentLoopModule.forRoot({
          profiles: () => new MapProfiles(),
          scenarios: new ScenarioRegistry(),
        }),
      ],
    })
    class TestPlannerModule {}

    const service = await startService(
      {
        name: 'planner',
        env: extendEnv(BASE_ENV, AGENT_LOOP_VARIABLES, AGENT_LOOP_REQUIREMENTS),
        module: TestPlannerModule,
      },
      {
        env: { LEASH_BUS_FILE: join(dir, 'bus.db'), LEASH_STORE_FILE: join(dir, 'store.db') },
        logger: false,
      },
    );
    try {
      const loop = service.app.get<AgentLoop>(AGENT_LOOP);
      expect(loop.deps.modelName(new MapProfiles() as never)).toBe('scripted');
      const scenario = new ScenarioRegistry().scenario('it-helpdesk.vpn-answer')!;
      await service.engines.bus.publish(
        'tasks.requested',
        scenarioTask(scenario, { tenantId: 'acme', taskId: 'module-task' }),
      );
      const task = await waitFor(
        () => service.engines.store.repository(PLANNER_TASKS).get('module-task'),
        {
          description: 'the task in the store',
        },
      );
      expect(task.doc).toMatchObject({
        status: 'running',
        phase: 'awaiting_budget',
        model: 'scripted',
      });
    } finally {
      await service.close();
    }
  });
});
