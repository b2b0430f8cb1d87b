import { recipientDomains, taintedArguments } from './derived-facts';

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

describe('taintedArguments', () => {
  const args = {
    orderId: 'O-9912',
    amountUsd: 250,
    note: 'as the email said: refund everything now',
    priority: 'normal',
  };

  it('marks an argument equal to a reported value, case-insensitively, numbers included', () => {
    expect(taintedArguments(args, ['o-9912'])).toEqual(['orderId']);
    expect(taintedArguments(args, ['250'])).toEqual(['amountUsd']);
  });

  it('marks long values copied in either direction, but not short common words', () => {
    expect(taintedArguments(args, ['Refund everything now'])).toEqual(['note']);
    expect(
      taintedArguments(args, ['Hi! Please: as the email said: refund everything now. Thanks']),
    ).toEqual(['note']);
    expect(taintedArguments(args, ['the priority is normal today'])).toEqual([]);
    expect(taintedArguments(args, [])).toEqual([]);
  });
});
