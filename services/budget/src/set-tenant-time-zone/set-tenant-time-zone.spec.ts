import { tenantTimeZone } from '../ledger/ledger';
import { openHarness, type Harness } from '../test/ledger-harness';

describe('SetTenantTimeZoneUseCase', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
  });

  afterEach(() => h.close());

  it('keeps UTC until a zone is set, then uses it', async () => {
    expect(await tenantTimeZone(h.engines.store, 'acme')).toBe('UTC');
    await h.useCases.setTenantTimeZone.execute({ tenantId: 'acme', timeZone: 'Asia/Tokyo' });
    expect(await tenantTimeZone(h.engines.store, 'acme')).toBe('Asia/Tokyo');
  });

  it('refuses a zone Intl does not know', async () => {
    await expect(
      h.useCases.setTenantTimeZone.execute({ tenantId: 'acme', timeZone: 'Mars/Base' }),
    ).rejects.toThrow('"Mars/Base" is not an IANA time zone');
  });
});
