/** Time, injected so a service's logic and its specs can cross a deadline or a day without waiting. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Times are stored and compared as UTC ISO strings, so string order is time order. */
export function utcIso(at: number | string): string {
  return new Date(at).toISOString();
}

/** A clock specs move by hand. `now` is a bound property, so it may be passed on its own. */
export class ManualClock implements Clock {
  constructor(public at: number) {}
  readonly now = (): number => this.at;
  advance(ms: number): void {
    this.at += ms;
  }
}
