export * from './clock';
export * from './interval-sweeper';
