export * from './events/common.schema';
export * from './events/task.schema';
export * from './events/action.schema';
export * from './events/budget.schema';
export * from './events/approval.schema';
export * from './events/control.schema';
export * from './topics';
export * from './envelope';
