import type { ControlAckV1, KillV1, ResumeV1, ServiceName } from '@leash/contracts';
import { ConcurrencyError, DuplicateError, type Store } from '@leash/store';
import { KILLS, type KillRecord } from './kill.aggregate';
import { describeScope, sameScope, scopeCovers, type KillTarget } from './kill-scope';

/** Injection token of a service's KillSwitch (exported by each service's control module). */
export const KILL_SWITCH = Symbol('leash:kill-switch');

/**
 * The reason a tracked call's signal is aborted with, so the call's owner can
 * tell a kill from a timeout or a shutdown (`signal.reason instanceof KilledError`).
 */
export class KilledError extends Error {
  override readonly name = 'KilledError';
  constructor(readonly kill: KillV1) {
    super(`killed (${describeScope(kill.scope)}) by ${kill.issuedBy}: ${kill.reason}`);
  }
}

export interface KillSwitchOptions {
  readonly store: Store;
  /** Who acknowledges: the service and this process's LEASH_INSTANCE_ID. */
  readonly service: ServiceName;
  readonly instance: string;
  readonly now?: () => Date;
}

interface TrackedCall {
  readonly target: KillTarget;
  readonly controller: AbortController;
}

/**
 * One service instance's kill switch. `covering()` answers from memory, on
 * the hot path of every gate; `apply()` and `resume()` change that memory
 * and the store. Kills are loaded from the store at start, so a restart
 * never resumes killed work.
 */
export class KillSwitch {
  readonly service: ServiceName;
  readonly instance: string;
  private readonly store: Store;
  private readonly now: () => Date;
  /** Active kills by commandId, in the order they were applied. */
  private readonly kills = new Map<string, KillV1>();
  private readonly calls = new Set<TrackedCall>();
  /** Aborts counted by an apply whose persistence failed; the retry reports them. */
  private readonly unreported = new Map<string, number>();

  constructor(options: KillSwitchOptions) {
    this.store = options.store;
    this.service = options.service;
    this.instance = options.instance;
    this.now = options.now ?? (() => new Date());
  }

  /** A KillSwitch with the store's active kills already loaded. */
  static async open(options: KillSwitchOptions): Promise<KillSwitch> {
    const killSwitch = new KillSwitch(options);
    await killSwitch.load();
    return killSwitch;
  }

  /** Reads the active kills from the store into memory; returns how many there are. */
  async load(): Promise<number> {
    const stored = await this.store.repository(KILLS).find({ where: { status: 'active' } });
    stored.sort((a, b) => Date.parse(a.doc.issuedAt) - Date.parse(b.doc.issuedAt));
    for (const { doc } of stored) this.kills.set(doc.commandId, toKill(doc));
    return this.kills.size;
  }

  /** The oldest active kill whose scope covers the target, or undefined: refuse the work when defined. */
  covering(target: KillTarget): KillV1 | undefined {
    for (const kill of this.kills.values()) {
      if (scopeCovers(kill.scope, target)) return kill;
    }
    return undefined;
  }

  /**
   * Registers an in-flight call (a tool run, a model call) so a kill in its
   * scope aborts it. Call the returned function when the call ends. A call
   * already covered is aborted at once: that closes the gap between a
   * `covering()` check and the start of the call.
   */
  track(target: KillTarget, controller: AbortController): () => void {
    const covering = this.covering(target);
    if (covering) {
      controller.abort(new KilledError(covering));
      return () => undefined;
    }
    const call: TrackedCall = { target, controller };
    this.calls.add(call);
    return () => {
      this.calls.delete(call);
    };
  }

  /**
   * Applies a kill: from now on `covering()` refuses its scope, every tracked
   * call in scope is aborted, and the kill is persisted. Returns how many
   * calls it aborted. Idempotent per commandId. Memory first, store second:
   * the kill takes effect even when the store is down (the caller retries
   * the persistence, and the kill stays in force meanwhile).
   */
  async apply(kill: KillV1): Promise<number> {
    this.kills.set(kill.commandId, kill);
    let aborted = this.unreported.get(kill.commandId) ?? 0;
    const reason = new KilledError(kill);
    for (const call of this.calls) {
      if (!scopeCovers(kill.scope, call.target)) continue;
      this.calls.delete(call);
      if (!call.controller.signal.aborted) {
        call.controller.abort(reason);
        aborted++;
      }
    }
    this.unreported.set(kill.commandId, aborted);
    const stored = await this.record(kill);
    this.unreported.delete(kill.commandId);
    // A replayed kill that a resume already lifted stays lifted.
    if (stored.status === 'lifted') this.kills.delete(kill.commandId);
    return aborted;
  }

  /**
   * Lifts the active kills whose scope is the resume's (every kill for a
   * resume of `all`) and that were issued no later than it, so a replayed
   * old resume never lifts a newer kill. Persisted before memory: a kill
   * stays in force until its lifting is durable. Returns the lifted kills.
   */
  async resume(resume: ResumeV1): Promise<KillV1[]> {
    const issuedAt = Date.parse(resume.issuedAt);
    const lifted = [...this.kills.values()].filter(
      (kill) =>
        (resume.scope.kind === 'all' || sameScope(kill.scope, resume.scope)) &&
        Date.parse(kill.issuedAt) <= issuedAt,
    );
    for (const kill of lifted) await this.lift(kill, resume);
    for (const kill of lifted) this.kills.delete(kill.commandId);
    return lifted;
  }

  /** The acknowledgement this instance publishes after applying a command. */
  acknowledgement(command: 'kill' | 'resume', commandId: string, aborted: number): ControlAckV1 {
    return {
      commandId,
      command,
      service: this.service,
      instance: this.instance,
      aborted,
      appliedAt: this.now().toISOString(),
    };
  }

  /** The kills in force, oldest first. */
  active(): KillV1[] {
    return [...this.kills.values()];
  }

  /** How many calls are tracked right now. */
  inFlight(): number {
    return this.calls.size;
  }

  private async record(kill: KillV1): Promise<KillRecord> {
    const kills = this.store.repository(KILLS);
    try {
      const stored = await kills.insert({
        ...kill,
        status: 'active',
        recordedBy: `${this.service}/${this.instance}`,
        recordedAt: this.now().toISOString(),
      });
      return stored.doc;
    } catch (error) {
      if (!(error instanceof DuplicateError)) throw error;
      // Another service or instance recorded it first (or this is a redelivery).
      const existing = await kills.get(kill.commandId);
      if (!existing) throw error;
      return existing.doc;
    }
  }

  private async lift(kill: KillV1, resume: ResumeV1): Promise<void> {
    const kills = this.store.repository(KILLS);
    const lifted = {
      status: 'lifted' as const,
      liftedBy: resume.commandId,
      liftedAt: this.now().toISOString(),
    };
    for (;;) {
      const existing = await kills.get(kill.commandId);
      if (existing?.doc.status === 'lifted') return;
      try {
        if (existing) await kills.update({ ...existing.doc, ...lifted }, existing.version);
        else {
          // Loaded or applied, but its record is gone (a wiped store): write what is true now.
          await kills.upsert({
            ...kill,
            ...lifted,
            recordedBy: `${this.service}/${this.instance}`,
            recordedAt: this.now().toISOString(),
          });
        }
        return;
      } catch (error) {
        // Another service lifted it at the same moment: read again.
        if (!(error instanceof ConcurrencyError)) throw error;
      }
    }
  }
}

function toKill(record: KillRecord): KillV1 {
  return {
    commandId: record.commandId,
    scope: record.scope,
    reason: record.reason,
    rollback: record.rollback,
    issuedBy: record.issuedBy,
    issuedAt: record.issuedAt,
  };
}
