/*
 * A tenant's day starts at midnight in the tenant's time zone, so "per day"
 * caps reset when the tenant's day does, not when UTC's does.
 */

const FORMATTERS = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = FORMATTERS.get(timeZone);
  if (!formatter) {
    // en-CA formats dates as YYYY-MM-DD; building one per call would dominate the hot path.
    formatter = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    FORMATTERS.set(timeZone, formatter);
  }
  return formatter;
}

/** True when Intl knows the IANA zone name. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const LAST = new Map<string, { minute: number; key: string }>();

/** The local calendar date (`YYYY-MM-DD`) of an instant in a time zone. */
export function dayKey(at: number, timeZone: string): string {
  // Zone offsets are whole minutes, so one minute has one local date: remember the last one per zone.
  const minute = Math.floor(at / MINUTE);
  const last = LAST.get(timeZone);
  if (last?.minute === minute) return last.key;
  const parts = formatterFor(timeZone).formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes): string =>
    parts.find((p) => p.type === type)?.value ?? '';
  const key = `${part('year')}-${part('month')}-${part('day')}`;
  LAST.set(timeZone, { minute, key });
  return key;
}

/**
 * The first instant at or after `at` whose local date in the zone is later
 * than `day` (YYYY-MM-DD): that day's end, usually the next local midnight.
 * Zone offsets are whole minutes, so it is found to the minute.
 */
export function dayEnd(day: string, at: number, timeZone: string): number {
  let lo = Math.floor(at / MINUTE);
  if (dayKey(lo * MINUTE, timeZone) > day) return lo * MINUTE;
  // A day is at most 25 hours long; a zone that skips a date (Samoa, 2011) only ends it sooner.
  let hi = lo + HOUR / MINUTE;
  while (dayKey(hi * MINUTE, timeZone) <= day) {
    lo = hi;
    hi += HOUR / MINUTE;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (dayKey(mid * MINUTE, timeZone) > day) hi = mid;
    else lo = mid;
  }
  return hi * MINUTE;
}
