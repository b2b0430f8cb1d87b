/*
 * What the store needs of a server: multi-document transactions, which
 * MongoDB runs on a replica set (one member is enough) or through mongos,
 * never on a standalone server; and sessions. A server that cannot run them
 * stops the service at start-up with a message that says so, instead of
 * failing every transaction later.
 */

/** The fields of a `hello` reply the check reads. */
export interface HelloReply {
  readonly setName?: unknown;
  readonly msg?: unknown;
  readonly logicalSessionTimeoutMinutes?: unknown;
  readonly maxWireVersion?: unknown;
  readonly isWritablePrimary?: unknown;
}

/** Wire version 8 is MongoDB 4.2: transactions on replica sets and sharded clusters, $$NOW. */
const MIN_WIRE_VERSION = 8;

/** Why this server cannot carry the store; undefined when it can. */
export function transactionSupportProblem(hello: HelloReply): string | undefined {
  const replicaSet = typeof hello.setName === 'string' && hello.setName.length > 0;
  const mongos = hello.msg === 'isdbgrid';
  if (!replicaSet && !mongos) {
    return (
      'the MongoDB server is standalone, and MongoDB runs multi-document transactions only on a replica set ' +
      '(one member is enough: start mongod with --replSet rs0 and run rs.initiate()) or a sharded cluster; ' +
      'Leash commits each state change with its inbox claim and outbox events in one transaction'
    );
  }
  if (typeof hello.logicalSessionTimeoutMinutes !== 'number') {
    return 'the server offers no sessions (no logicalSessionTimeoutMinutes in its hello reply), so it cannot run transactions; a MongoDB-compatible server without transactions cannot carry the store';
  }
  if (typeof hello.maxWireVersion === 'number' && hello.maxWireVersion < MIN_WIRE_VERSION) {
    return `the server speaks wire version ${hello.maxWireVersion}; the store needs MongoDB 4.2 or later (wire version ${MIN_WIRE_VERSION})`;
  }
  return undefined;
}
