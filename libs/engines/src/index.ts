// The composition root: opens the Bus and the Store the config names. What a client (the
// CLI, a test, a launcher) opens; a service process's runtime on NestJS (its modules,
// start-up and shutdown, health and metrics server) is @leash/service-runtime.
export * from './open-engines';
