import { recipientDomains } from './derived-facts';

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
