/*
 * The incubating entry point of @opentelemetry/semantic-conventions is only
 * reachable through package "exports", which this repository's
 * `moduleResolution: node` does not read; Node's require does. This points
 * the types at the file the require resolves to.
 */
declare module '@opentelemetry/semantic-conventions/incubating' {
  export * from '@opentelemetry/semantic-conventions/dist/index-incubating.cjs';
}
