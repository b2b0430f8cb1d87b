/** Injection token of the service's `Bus`. */
export const BUS = Symbol('leash:bus');

/** Injection token of the CloudEvents `source` this service publishes as (its name). */
export const EVENT_SOURCE = Symbol('leash:event-source');

/** Nest's transport id of the bus, for hooks that tell transports apart. */
export const BUS_TRANSPORT = Symbol('leash:bus-transport');
