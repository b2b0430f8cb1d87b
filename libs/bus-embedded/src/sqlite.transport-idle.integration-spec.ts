import type { TransportRecord } from '@leash/bus';
import { waitFor } from '@leash/testing';
import { cleanupTemp, tempBusFile } from '../test/bus-files';
import { GroupMember } from './group-member';
import { SqliteLog } from './sqlite-log';
import { SqliteTransport, type SqliteTransportOptions } from './sqlite.transport';

/** The pacing state the specs below watch; private to the transport. */
interface Pacing {
  readonly pollDelayMs: number;
  readonly pollDueAt: number;
  readonly walWatcher: unknown;
  readonly heartbeatDelayMs: number;
  readonly othersLive: boolean;
}
const pacing = (transport: SqliteTransport) => transport as unknown as Pacing;

/**
 * Another process's writes, without it: a connection of its own, which neither
 * this process's peers nor its threads hear from. Only the file tells.
 */
class OtherProcess {
  readonly log: SqliteLog;
  constructor(file: string) {
    this.log = new SqliteLog(file, 5_000);
  }

  append(topic: string, value: string): void {
    this.log.transaction(() => {
      const { id } = this.log.topic(topic)!;
      const next = this.log.nextOffset(id, 0);
      this.log.append(id, 0, next, 'k', Buffer.from(value), '{}', Date.now());
      this.log.setNextOffset(id, 0, next + 1);
    });
  }

  /** A member on another host: live until its session expires. */
  join(group: string, memberId: string, topics: string[], sessionMs: number): void {
    const now = Date.now();
    this.log.transaction(() => {
      this.log.insertMember(group, memberId, 'elsewhere', 1, topics, now, now + sessionMs);
      this.log.bumpGeneration(group);
    });
  }

  leave(group: string, memberId: string): void {
    this.log.transaction(() => {
      this.log.removeMember(group, memberId);
      this.log.bumpGeneration(group);
    });
  }
}

describe('SqliteTransport: idle pacing', () => {
  const open: SqliteTransport[] = [];
  const others: OtherProcess[] = [];
  const openBus = (options: SqliteTransportOptions) => {
    const transport = new SqliteTransport(options);
    open.push(transport);
    return transport;
  };
  const otherProcess = (file: string) => {
    const other = new OtherProcess(file);
    others.push(other);
    return other;
  };

  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
    for (const other of others.splice(0)) other.log.close();
    cleanupTemp();
  });

  async function consuming(options: Omit<SqliteTransportOptions, 'filename'>) {
    const file = tempBusFile();
    const bus = openBus({ filename: file, ...options });
    await bus.ensureTopics([{ name: 't', partitions: 1 }]);
    const got: { value: string; at: number }[] = [];
    await bus.consume({ group: 'g', topics: ['t'] }, async (record: TransportRecord) => {
      got.push({ value: record.value.toString(), at: Date.now() });
    });
    return { file, bus, got };
  }

  it('watches the log: another process’s write is noticed long before the slow idle check', async () => {
    const { file, bus, got } = await consuming({
      pollIntervalMs: 5,
      watchedIdlePollIntervalMs: 600_000,
    });
    expect(pacing(bus).walWatcher).toBeDefined();
    // Quiet: the check slows down past anything the default idle pace (50 ms) would allow.
    await waitFor(() => pacing(bus).pollDueAt - Date.now() > 500, {
      description: 'the check slowing down',
      timeoutMs: 10_000,
    });
    const dueAt = pacing(bus).pollDueAt;
    otherProcess(file).append('t', 'from elsewhere');
    await waitFor(() => got.length === 1, { description: 'the record' });
    expect(got[0]!.value).toBe('from elsewhere');
    // Woken by the watch, not by the check it had scheduled.
    expect(got[0]!.at).toBeLessThan(dueAt);
    // Then watched closely again for a while.
    expect(pacing(bus).pollDelayMs).toBeLessThan(100);
  });

  it('keeps its slow pace after this process’s own writes, which fire the watch too', async () => {
    const { bus, got } = await consuming({ pollIntervalMs: 5, watchedIdlePollIntervalMs: 600_000 });
    await waitFor(() => pacing(bus).pollDelayMs >= 300, {
      description: 'the check slowing down',
      timeoutMs: 10_000,
    });
    const slow = pacing(bus).pollDelayMs;
    await bus.send('t', [{ key: 'k', value: Buffer.from('mine'), headers: {} }]);
    await waitFor(() => got.length === 1, { description: 'the record' });
    // The check the watch brought on found nothing new and went back to that pace at once
    // (slowing down again from 5 ms to it would take some 3 s).
    await waitFor(() => pacing(bus).pollDelayMs >= slow, {
      description: 'the slow pace resumed',
      timeoutMs: 300,
      intervalMs: 5,
    });
  });

  it('without a watch, checks at most every idlePollIntervalMs and comes back at the first change', async () => {
    const { file, bus, got } = await consuming({
      watchFile: false,
      pollIntervalMs: 5,
      idlePollIntervalMs: 40,
    });
    expect(pacing(bus).walWatcher).toBeUndefined();
    await waitFor(() => pacing(bus).pollDelayMs === 40, { description: 'the idle pace' });
    let delayAtDelivery = -1;
    const original = got.push.bind(got);
    got.push = (...items) => {
      delayAtDelivery = pacing(bus).pollDelayMs;
      return original(...items);
    };
    otherProcess(file).append('t', 'polled');
    await waitFor(() => got.length === 1, { description: 'the record' });
    expect(delayAtDelivery).toBe(5);
    await waitFor(() => pacing(bus).pollDelayMs === 40, { description: 'the idle pace again' });
  });

  it('skips the safety-net rounds while the file is quiet, and runs them again after another’s write', async () => {
    const rounds = jest.spyOn(GroupMember.prototype, 'fullRound');
    try {
      // Alone: a beat every 50 ms; the safety net would run a round every 100 ms.
      const { file } = await consuming({ heartbeatIntervalMs: 20, sessionTimeoutMs: 200 });
      const other = otherProcess(file);
      const renewals = new Set<number>();
      const beats = async (n: number) => {
        renewals.clear();
        await waitFor(
          () => {
            renewals.add(other.log.members('g')[0]!.expiresAt);
            return renewals.size > n;
          },
          { description: `${n} beats`, intervalMs: 2 },
        );
      };
      await beats(2);
      const quietRounds = rounds.mock.calls.length;
      await beats(6); // 300 ms and more: two safety-net rounds at least, were they due
      expect(rounds.mock.calls.length).toBe(quietRounds);
      other.append('t', 'news');
      await waitFor(() => rounds.mock.calls.length > quietRounds, {
        description: 'a safety-net round after the write',
      });
    } finally {
      rounds.mockRestore();
    }
  });

  it('beats slowly while alone, every heartbeatIntervalMs while another process is live', async () => {
    const { file, bus } = await consuming({
      heartbeatIntervalMs: 100,
      sessionTimeoutMs: 4_000, // alone: a beat a quarter of it, 1 s
    });
    expect(pacing(bus).heartbeatDelayMs).toBe(1_000);
    const other = otherProcess(file);
    // Its join is a write: the next beat comes within 100 ms, sees it, and keeps that pace.
    other.join('g', 'm-elsewhere', ['t'], 60_000);
    await waitFor(() => pacing(bus).othersLive, { description: 'the other process seen' });
    await waitFor(() => pacing(bus).heartbeatDelayMs === 100, { description: 'the quick pace' });
    other.leave('g', 'm-elsewhere');
    await waitFor(() => pacing(bus).heartbeatDelayMs === 1_000, {
      description: 'the alone pace again',
    });
    // The session always has more left than a beat at that pace takes.
    const [member] = other.log.members('g');
    expect(member!.expiresAt - Date.now()).toBeGreaterThan(4_000 - 1_000 - 500);
  });
});
