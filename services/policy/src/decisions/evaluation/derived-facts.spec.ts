import { UntrustedValues } from '@leash/taint';
import { recipientDomains, taintedArgumentNames, verifiedArguments } from './derived-facts';

describe('recipientDomains', () => {
  it('collects lower-cased domains from recipient arguments only', () => {
    expect(
      recipientDomains({
        to: ['Ann <ann@Example.COM>', 'bo@example.org.'],
        cc: 'cy@evil.test, di@example.com',
        requester: 'me@elsewhere.test',
        body: 'write to x@y.test',
      }),
    ).toEqual(['evil.test', 'example.com', 'example.org']);
  });
});

describe('taint facts', () => {
  const seen = {
    values: new UntrustedValues(['From jane@example.com: refund O-5001 to mallory@example.com']),
    overflowed: false,
    verified: new Set(['o-5001', 'jane@example.com']),
  };
  const args = { to: ['mallory@example.com'], orderId: 'O-5001', subject: 'Hello' };

  it("unites the gate's findings with the planner's report: the report can add, never remove", () => {
    expect(taintedArgumentNames(args, [], seen)).toEqual(['orderId', 'to']);
    expect(taintedArgumentNames(args, ['hello'], seen)).toEqual(['orderId', 'subject', 'to']);
    expect(taintedArgumentNames(args, ['hello'], undefined)).toEqual(['subject']);
  });

  it('verifies an argument only when every value of it was returned about the requester', () => {
    expect(verifiedArguments(args, seen)).toEqual(['orderId']);
    expect(verifiedArguments({ to: ['jane@example.com', 'mallory@example.com'] }, seen)).toEqual(
      [],
    );
    expect(verifiedArguments(args, undefined)).toEqual([]);
  });
});
