import { tenantTimeZone } from '../ledger/ledger';
import {
  actionRequestEvent,
  decidedEvent,
  openHarness,
  roomyCaps,
  testProfile,
  type Harness,
} from '../test/ledger-harness';

const at = (iso: string) => Date.parse(iso);

describe('SetTenantTimeZoneUseCase', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
  });

  afterEach(() => h.close());

  it('keeps UTC until a zone is set, then uses it from the later of the two midnights', async () => {
    expect(await tenantTimeZone(h.engines.store, 'acme', h.clock.now())).toBe('UTC');
    // 12:00 UTC is 21:00 in Tokyo: Tokyo's midnight (15:00 UTC) comes first, UTC's is later.
    const change = await h.useCases.setTenantTimeZone.execute({
      tenantId: 'acme',
      timeZone: 'Asia/Tokyo',
      changedBy: 'ops@acme.example',
    });
    expect(change).toEqual({
      from: 'UTC',
      to: 'Asia/Tokyo',
      countingDay: '2026-03-01',
      effectiveAt: '2026-03-02T00:00:00.000Z',
    });
    const zoneAt = (iso: string) => tenantTimeZone(h.engines.store, 'acme', at(iso));
    expect(await zoneAt('2026-03-01T23:59:59.999Z')).toBe('UTC');
    expect(await zoneAt('2026-03-02T00:00:00.000Z')).toBe('Asia/Tokyo');
  });

  it('refuses a zone Intl does not know, and a change nobody makes', async () => {
    await expect(
      h.useCases.setTenantTimeZone.execute({
        tenantId: 'acme',
        timeZone: 'Mars/Base',
        changedBy: 'ops',
      }),
    ).rejects.toThrow('"Mars/Base" is not an IANA time zone');
    await expect(
      h.useCases.setTenantTimeZone.execute({ tenantId: 'acme', timeZone: 'UTC', changedBy: ' ' }),
    ).rejects.toThrow('names who makes it');
  });

  it('audits the change with who made it', async () => {
    h.clock.at = at('2026-03-02T10:00:00Z');
    await h.useCases.setTenantTimeZone.execute({
      tenantId: 'acme',
      timeZone: 'Etc/GMT+12',
      changedBy: 'ops@acme.example',
    });
    const [event] = await h.pendingOf('leash.budget.time_zone_changed.v1');
    expect(event).toMatchObject({
      tenantId: 'acme',
      source: 'budget',
      data: {
        from: 'UTC',
        to: 'Etc/GMT+12',
        countingDay: '2026-03-02',
        effectiveAt: '2026-03-03T00:00:00.000Z',
        changedBy: 'ops@acme.example',
        changedAt: '2026-03-02T10:00:00.000Z',
      },
    });
    // Asking again for the zone already pending changes nothing and delays nothing.
    h.clock.at = at('2026-03-02T13:00:00Z');
    await expect(
      h.useCases.setTenantTimeZone.execute({
        tenantId: 'acme',
        timeZone: 'Etc/GMT+12',
        changedBy: 'ops@acme.example',
      }),
    ).resolves.toBeUndefined();
    expect(await h.pendingOf('leash.budget.time_zone_changed.v1')).toHaveLength(1);
  });

  describe('a change of zone after the daily purchase-order cap is spent', () => {
    beforeEach(() => {
      h.profiles.add(
        testProfile(
          roomyCaps({ tenantDay: { classes: { purchase_order: { amountUsd: 50_000 } } } }),
        ),
      );
    });

    async function order(amountUsd: number) {
      const decided = decidedEvent(h.policy, h.clock, { amountUsd });
      await h.useCases.decideBudgetRequest.execute({ event: actionRequestEvent(decided) });
      const answer = (await h.pending()).find(
        (e) =>
          (e.type === 'leash.actions.funded.v1' || e.type === 'leash.actions.rejected.v1') &&
          e.data.actionId === decided.data.actionId,
      )!;
      return answer.type === 'leash.actions.funded.v1' ? 'funded' : 'refused';
    }

    async function fillTheCap() {
      h.clock.at = at('2026-03-02T10:00:00Z');
      for (let i = 0; i < 5; i += 1) expect(await order(9_999.5)).toBe('funded');
      expect(await order(9_999.5)).toBe('refused');
    }

    it('to a zone still on yesterday opens no fresh day: orders wait for the old day to end', async () => {
      await fillTheCap();
      await h.useCases.setTenantTimeZone.execute({
        tenantId: 'acme',
        timeZone: 'Etc/GMT+12',
        changedBy: 'ops@acme.example',
      });
      for (const iso of ['2026-03-02T10:01:00Z', '2026-03-02T12:00:00Z', '2026-03-02T23:59:00Z']) {
        h.clock.at = at(iso);
        expect(await order(9_999.5)).toBe('refused');
      }
      // From UTC's midnight the day is Etc/GMT+12's 2026-03-02: the same date, the same counter.
      h.clock.at = at('2026-03-03T00:00:00Z');
      expect(await order(9_999.5)).toBe('refused');
      // Its next midnight starts a day that began after the change.
      h.clock.at = at('2026-03-03T12:00:00Z');
      expect(await order(9_999.5)).toBe('funded');
    });

    it('to a zone already on tomorrow opens no fresh day before the later midnight', async () => {
      await fillTheCap();
      // 10:00 UTC is 22:00 in Etc/GMT-12; its midnight (12:00 UTC) comes before UTC's.
      const change = await h.useCases.setTenantTimeZone.execute({
        tenantId: 'acme',
        timeZone: 'Etc/GMT-12',
        changedBy: 'ops@acme.example',
      });
      expect(change?.effectiveAt).toBe('2026-03-03T00:00:00.000Z');
      for (const iso of ['2026-03-02T11:59:00Z', '2026-03-02T12:00:00Z', '2026-03-02T23:59:00Z']) {
        h.clock.at = at(iso);
        expect(await order(9_999.5)).toBe('refused');
      }
      h.clock.at = at('2026-03-03T00:00:00Z');
      expect(await order(9_999.5)).toBe('funded');
    });
  });
});
