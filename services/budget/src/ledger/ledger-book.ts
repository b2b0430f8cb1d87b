import { createEnvelope, type Envelope } from '@leash/contracts';
import type { Transaction } from '@leash/store';
import {
  alarmKey,
  alarmsCrossed,
  isBooked,
  settle,
  unitOf,
  usedOf,
  type Actuals,
  type CapCheck,
  type CapLine,
  type Tallies,
} from './budget-rules';
import { utcIso } from '@leash/clock';
import {
  BudgetCounter,
  BudgetReservation,
  type BudgetCounterDoc,
  type BudgetReservationDoc,
} from './ledger.aggregates';

type AlarmEnvelope = Envelope<'leash.budget.alarm.v1'>;

/** The counters a request books against: its task's and its tenant's day's. */
export interface CounterIds {
  readonly task: string;
  readonly tenant_day: string;
}

export const taskCounterId = (taskId: string): string => `task:${taskId}`;
export const dayCounterId = (tenantId: string, day: string): string => `day:${tenantId}:${day}`;

interface Loaded {
  /** Undefined for a counter this transaction creates. */
  readonly version: number | undefined;
  doc: BudgetCounterDoc;
  changed: boolean;
}

/**
 * The ledger's counters inside one store transaction: load, change through
 * the rules, fire the alarms the change crosses, then write everything and
 * enqueue the alarms together. Versions are checked on write, so a
 * concurrent writer (another instance, the sweeper) makes the transaction
 * fail and retry rather than lose an update.
 */
export class LedgerBook {
  private readonly loaded = new Map<string, Loaded>();
  private readonly alarms: AlarmEnvelope[] = [];

  constructor(
    private readonly tx: Transaction,
    private readonly source: string,
    private readonly now: number,
  ) {}

  /** The task's counter; created on its first request, which starts its wall clock. */
  async task(tenantId: string, taskId: string): Promise<BudgetCounterDoc> {
    return this.load(taskCounterId(taskId), () => ({
      id: taskCounterId(taskId),
      scope: 'task',
      tenantId,
      taskId,
      startedAt: this.now,
      tallies: {},
      limits: {},
      alarmFractions: [],
      fired: [],
    }));
  }

  async day(tenantId: string, day: string, timeZone: string): Promise<BudgetCounterDoc> {
    return this.load(dayCounterId(tenantId, day), () => ({
      id: dayCounterId(tenantId, day),
      scope: 'tenant_day',
      tenantId,
      day,
      timeZone,
      tallies: {},
      limits: {},
      alarmFractions: [],
      fired: [],
    }));
  }

  /** What is already used against a line's cap. */
  usedBy(line: CapLine, ids: CounterIds): number {
    if (line.measure === 'elapsed') {
      const startedAt = this.doc(ids.task).startedAt;
      return startedAt === undefined ? 0 : Math.max(0, this.now - startedAt);
    }
    if (line.scope === 'action') return 0;
    return usedOf(this.doc(ids[line.scope]).tallies, line.cap);
  }

  check(lines: readonly CapLine[], ids: CounterIds): CapCheck[] {
    return lines.map((line) => ({ ...line, used: this.usedBy(line, ids) }));
  }

  /**
   * Applies `change` to each counter's tallies for the booked lines of its
   * scope, records the limits and fractions in force, and fires alarms.
   * `checks` carries measured lines (the wall clock) so they alarm too.
   */
  change(
    ids: CounterIds,
    lines: readonly CapLine[],
    change: (tallies: Tallies, lines: readonly CapLine[]) => Tallies,
    fractions: readonly number[] | undefined,
    measured: readonly CapCheck[] = [],
  ): void {
    for (const scope of ['task', 'tenant_day'] as const) {
      const booked = lines.filter((line) => line.scope === scope && isBooked(line));
      const timed = measured.filter((check) => check.scope === scope && !isBooked(check));
      if (booked.length === 0 && timed.length === 0) continue;
      const entry = this.entry(ids[scope]);
      const doc = { ...entry.doc };
      doc.tallies = change(doc.tallies, booked) as BudgetCounterDoc['tallies'];
      const limits = { ...doc.limits };
      for (const line of [...booked, ...timed]) {
        if (line.limit !== undefined) limits[line.cap] = line.limit;
      }
      doc.limits = limits;
      if (fractions) doc.alarmFractions = [...fractions];
      const fired = new Set(doc.fired);
      const observed = [
        ...booked.map((line) => ({ line, used: usedOf(doc.tallies, line.cap) })),
        ...timed.map((check) => ({ line: check as CapLine, used: check.used })),
      ];
      for (const { line, used } of observed) {
        const limit = line.limit ?? doc.limits[line.cap];
        for (const fraction of alarmsCrossed(limit, used, doc.alarmFractions, line.cap, fired)) {
          fired.add(alarmKey(line.cap, fraction));
          this.alarms.push(this.alarm(doc, line, fraction, used, limit!));
        }
      }
      doc.fired = [...fired];
      entry.doc = doc;
      entry.changed = true;
    }
  }

  /** Writes every changed counter (version-checked) and enqueues the alarms fired. */
  async flush(): Promise<void> {
    const counters = this.tx.repository(BudgetCounter);
    for (const entry of this.loaded.values()) {
      if (!entry.changed) continue;
      if (entry.version === undefined) await counters.insert(entry.doc);
      else await counters.update(entry.doc, entry.version);
    }
    for (const alarm of this.alarms) await this.tx.outbox.enqueue('budget.alarms', alarm);
  }

  private async load(id: string, create: () => BudgetCounterDoc): Promise<BudgetCounterDoc> {
    const cached = this.loaded.get(id);
    if (cached) return cached.doc;
    const stored = await this.tx.repository(BudgetCounter).get(id);
    const entry: Loaded = stored
      ? { version: stored.version, doc: stored.doc, changed: false }
      : { version: undefined, doc: create(), changed: true };
    this.loaded.set(id, entry);
    return entry.doc;
  }

  private entry(id: string): Loaded {
    const entry = this.loaded.get(id);
    if (!entry) throw new Error(`ledger: counter ${id} was not loaded`);
    return entry;
  }

  private doc(id: string): BudgetCounterDoc {
    return this.entry(id).doc;
  }

  private alarm(
    doc: BudgetCounterDoc,
    line: CapLine,
    fraction: number,
    used: number,
    limit: number,
  ): AlarmEnvelope {
    const scopeKey = doc.scope === 'task' ? doc.taskId! : `${doc.tenantId}:${doc.day}`;
    return createEnvelope(
      'leash.budget.alarm.v1',
      {
        cap: line.cap,
        scope: doc.scope,
        scopeKey,
        unit: unitOf(line.measure),
        fraction,
        used,
        limit,
        ...(doc.taskId !== undefined ? { taskId: doc.taskId } : {}),
      },
      {
        // One id per cap, period and fraction: a duplicate can only be a redelivery.
        id: `alarm:${doc.id}:${alarmKey(line.cap, fraction)}`,
        source: this.source,
        tenantId: doc.tenantId,
        ...(doc.taskId !== undefined ? { taskId: doc.taskId } : {}),
      },
    );
  }
}

/**
 * Closes an open reservation in `tx`: moves each of its lines from reserved
 * to `actuals` on the task's and the tenant's day counters, and gives it its
 * final status (`charged` in full at the deadline, `released` when the action
 * never ran).
 */
export async function closeReservation(
  tx: Transaction,
  source: string,
  now: number,
  stored: { readonly doc: BudgetReservationDoc; readonly version: number },
  actuals: Actuals,
  status: 'charged' | 'released',
): Promise<void> {
  const doc = stored.doc;
  const ledger = new LedgerBook(tx, source, now);
  await ledger.task(doc.tenantId, doc.taskId);
  await ledger.day(doc.tenantId, doc.day, doc.timeZone);
  ledger.change(
    { task: taskCounterId(doc.taskId), tenant_day: dayCounterId(doc.tenantId, doc.day) },
    doc.lines,
    (tallies, lines) => settle(tallies, lines, actuals),
    undefined,
  );
  await tx
    .repository(BudgetReservation)
    .update({ ...doc, status, settledAt: utcIso(now) }, stored.version);
  await ledger.flush();
}
