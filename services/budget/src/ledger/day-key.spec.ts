import { dayEnd, dayKey, isTimeZone } from './day-key';

describe('dayKey', () => {
  // 2026-03-01T23:30:00Z is still March 1st in UTC, already March 2nd in Berlin (UTC+1) and
  // still March 1st in New York (UTC-5).
  const lateEvening = Date.parse('2026-03-01T23:30:00Z');

  it("is the tenant's local date", () => {
    expect(dayKey(lateEvening, 'UTC')).toBe('2026-03-01');
    expect(dayKey(lateEvening, 'Europe/Berlin')).toBe('2026-03-02');
    expect(dayKey(lateEvening, 'America/New_York')).toBe('2026-03-01');
  });

  it('changes exactly at local midnight', () => {
    const berlinMidnight = Date.parse('2026-03-01T23:00:00Z');
    expect(dayKey(berlinMidnight - 1, 'Europe/Berlin')).toBe('2026-03-01');
    expect(dayKey(berlinMidnight, 'Europe/Berlin')).toBe('2026-03-02');
  });

  it('follows daylight saving time', () => {
    // Berlin is UTC+2 in summer: midnight of July 2nd is 22:00 UTC on July 1st.
    expect(dayKey(Date.parse('2026-07-01T21:59:59Z'), 'Europe/Berlin')).toBe('2026-07-01');
    expect(dayKey(Date.parse('2026-07-01T22:00:00Z'), 'Europe/Berlin')).toBe('2026-07-02');
  });

  it('knows real zones from made-up ones', () => {
    expect(isTimeZone('Asia/Kolkata')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});

describe('dayEnd', () => {
  const iso = (ms: number) => new Date(ms).toISOString();
  const at = Date.parse('2026-03-02T10:00:00Z');

  it("finds a day's end at the zone's next local midnight, to the minute", () => {
    expect(iso(dayEnd('2026-03-02', at, 'UTC'))).toBe('2026-03-03T00:00:00.000Z');
    expect(iso(dayEnd('2026-03-01', at, 'Etc/GMT+12'))).toBe('2026-03-02T12:00:00.000Z');
    expect(iso(dayEnd('2026-03-02', at, 'Asia/Kolkata'))).toBe('2026-03-02T18:30:00.000Z');
    expect(iso(dayEnd('2026-03-02', at, 'America/St_Johns'))).toBe('2026-03-03T03:30:00.000Z');
  });

  it('counts a 23-hour day of daylight saving time', () => {
    const spring = Date.parse('2026-03-29T00:30:00Z');
    expect(iso(dayEnd('2026-03-29', spring, 'Europe/Berlin'))).toBe('2026-03-29T22:00:00.000Z');
  });

  it('answers the instant itself for a day that has already ended', () => {
    expect(dayEnd('2026-03-01', at, 'UTC')).toBe(at);
  });
});
