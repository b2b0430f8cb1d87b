export { bootstrapPlanner } from './planner.app';
export type { PlannerOverrides } from './app.module';
export { PLANNER, PLANNER_ENV, type PlannerConfig } from './config';
export * from './agent-loop';
