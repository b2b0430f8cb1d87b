// The engines without NestJS: what a client (the CLI, a test, a launcher) opens.
// A service process's wiring (Nest modules, start-up, health server) is @leash/engines/nest.
export * from './open-engines';
export * from './traced-store';
export * from './observability.env';
