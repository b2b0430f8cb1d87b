export * from './agent-folder';
export * from './agent-set';
export * from './tool-file';
export * from './agent-drift';
export * from './rubric';
export * from './golden-task-file';
