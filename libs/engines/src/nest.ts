// A service process's wiring on NestJS: its modules, start-up and shutdown, and the
// health and metrics server. Kept apart from @leash/engines, so a client that only
// opens the engines (the CLI) does not load NestJS.
export * from './engines.module';
export * from './start-service';
export * from './shutdown';
export * from './observability-server';
