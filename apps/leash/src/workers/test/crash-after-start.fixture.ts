import type { LeashShare } from '../../start';

/*
 * An `instrument` module for leash-workers.integration-spec.ts: the worker
 * thread that loads it fails, uncaught, once its services are up.
 */
export function instrumentThread(share: LeashShare): void {
  const names = share.services.map((service) => service.name).join(' ');
  setImmediate(() => {
    throw new Error(`a failure nothing caught, in the thread running ${names}`);
  });
}
