export * from './system-prompt';
export * from './scenarios';
