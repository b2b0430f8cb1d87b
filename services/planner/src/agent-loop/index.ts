/*
 * The agent loop's public surface: the Nest module, the factory for code
 * without Nest (tests, the e2e bench, the demo), the model port and
 * adapters, and the reference scenarios.
 */
export * from './agent-loop.config';
export * from './agent-loop.deps';
export * from './agent-loop.factory';
export * from './agent-loop.module';
export * from './model/model.port';
export * from './model/model.factory';
export * from './model/openai.model';
export * from './model/scripted.model';
export * from './model/replay.model';
export * from './model/tool-schemas';
export * from './scenarios/reference-scenarios';
export { PLANNER_TASKS, type PlannerTask } from './task-state/planner-task.aggregate';
export { classifyFinal } from './task-state/loop-rules';
export {
  LOOP_RULES_VERSION,
  readObservation,
  readUntrusted,
  type Observation,
} from './task-state/conversation';
export { StartTaskUseCase } from './start-task/start-task.usecase';
export { CallModelUseCase } from './call-model/call-model.usecase';
export { RecordObservationUseCase } from './record-observation/record-observation.usecase';
export { EnforceDeadlinesUseCase } from './enforce-deadlines/enforce-deadlines.usecase';
export { DeadlineSweeper } from './enforce-deadlines/deadline-sweeper';
export { KillTasksUseCase } from './kill-tasks/kill-tasks.usecase';
export { ResumeOpenTasksUseCase } from './resume-tasks/resume-open-tasks.usecase';
export { MoveRunningTasksUseCase } from './watch-canary/move-running-tasks.usecase';
export {
  WatchCanaryUseCase,
  canaryReport,
  type CanaryReport,
} from './watch-canary/watch-canary.usecase';
export { figuresOf, canaryBreaches, type ReleaseFigures } from './watch-canary/canary-figures';
export { RELEASE_OUTCOMES, type ReleaseOutcome } from './watch-canary/release-outcome.aggregate';
