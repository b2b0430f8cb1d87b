import { transactionSupportProblem } from './mongo-server';

describe('the servers the store accepts', () => {
  it('accepts a replica set member and mongos that offer sessions', () => {
    expect(
      transactionSupportProblem({
        setName: 'rs0',
        logicalSessionTimeoutMinutes: 30,
        maxWireVersion: 21,
      }),
    ).toBeUndefined();
    expect(
      transactionSupportProblem({
        msg: 'isdbgrid',
        logicalSessionTimeoutMinutes: 30,
        maxWireVersion: 21,
      }),
    ).toBeUndefined();
  });

  it('refuses a standalone server, saying what to run instead', () => {
    expect(
      transactionSupportProblem({
        isWritablePrimary: true,
        logicalSessionTimeoutMinutes: 30,
        maxWireVersion: 21,
      }),
    ).toMatch(/standalone.*replica set.*--replSet/);
  });

  it('refuses a compatible server without sessions, and one older than 4.2', () => {
    expect(transactionSupportProblem({ setName: 'rs0', maxWireVersion: 21 })).toMatch(
      /no sessions/,
    );
    expect(
      transactionSupportProblem({
        setName: 'rs0',
        logicalSessionTimeoutMinutes: 30,
        maxWireVersion: 7,
      }),
    ).toMatch(/4\.2/);
  });
});
