export * from './audit.aggregates';
export * from './describe-event';
export * from './run-summary';
export * from './audit-recorder';
export * from './search-runs';
export * from './task-trajectory';
export * from './trace-anchors';
export * from './testing/seed-runs';
