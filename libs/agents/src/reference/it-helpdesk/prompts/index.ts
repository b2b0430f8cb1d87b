export * from './scenarios';
export * from './golden-scenarios';
