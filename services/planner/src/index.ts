export { bootstrapPlanner } from './planner.app';
export { PLANNER, PLANNER_ENV, type PlannerConfig } from './config';
export * from './agent-loop';
