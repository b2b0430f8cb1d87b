export * from './open-engines';
export * from './engines.module';
export * from './start-service';
export * from './shutdown';
export * from './traced-store';
export * from './observability.env';
export * from './observability-server';
export * from './interval-sweeper';
