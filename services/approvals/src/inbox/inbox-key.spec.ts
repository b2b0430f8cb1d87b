import { ConfigError } from '@leash/config';
import { generateVerdictKeyPair } from '@leash/signing';
import { trustedFrontEnds } from './inbox-key';

describe('trustedFrontEnds', () => {
  const inbox = generateVerdictKeyPair();
  const other = { name: 'partner-portal', publicKey: generateVerdictKeyPair().publicKey };
  const served = {
    LEASH_INBOX_PORT: 4180,
    LEASH_INBOX_SIGNING_KEY: inbox.privateKeyPem,
    LEASH_INBOX_FRONT_END_NAME: 'web-inbox',
  };

  it('adds the inbox this process serves, under its own key, to those configured', () => {
    expect(trustedFrontEnds([other], served)).toEqual([
      other,
      { name: 'web-inbox', publicKey: inbox.publicKey },
    ]);
  });

  it('trusts no inbox when none is served, and keeps a configured entry of the same name', () => {
    expect(trustedFrontEnds([other], {})).toEqual([other]);
    const pinned = { name: 'web-inbox', publicKey: other.publicKey, tenants: ['acme'] };
    expect(trustedFrontEnds([pinned], served)).toEqual([pinned]);
  });

  it('fails fast, naming the variable, when the inbox is served without a key', () => {
    expect(() => trustedFrontEnds([], { LEASH_INBOX_PORT: 4180 })).toThrow(ConfigError);
    expect(() => trustedFrontEnds([], { LEASH_INBOX_PORT: 4180 })).toThrow(
      /LEASH_INBOX_SIGNING_KEY/,
    );
    expect(() => trustedFrontEnds([], { ...served, LEASH_INBOX_SIGNING_KEY: 'not a key' })).toThrow(
      /LEASH_INBOX_SIGNING_KEY \(secret value hidden\)/,
    );
  });
});
