export * from './open-engines';
export * from './engines.module';
export * from './start-service';
export * from './shutdown';
