// A service process's runtime on NestJS: the engines as Nest providers, start-up (waiting for
// the bus, the kill switch, the health and metrics server) and shutdown. Kept apart from
// @leash/engines, so a client that only opens the engines (the CLI) does not load NestJS.
export * from './engines.module';
export * from './start-service';
export * from './shutdown';
export * from './observability-server';
export * from './observability.env';
export * from './traced-store';
export * from './until-the-bus-answers';
