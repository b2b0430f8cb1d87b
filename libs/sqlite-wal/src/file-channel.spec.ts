import { BroadcastChannel } from 'node:worker_threads';
import { joinFileChannel } from './file-channel';

/*
 * Another thread's end of a file's channel is played by a plain
 * BroadcastChannel of the same name: a thread's memberships share one
 * channel, so only another instance (another thread's) hears them.
 */
describe('joinFileChannel', () => {
  const FILE = '/var/leash/bus.db';
  let other: BroadcastChannel;
  let heardByOther: unknown[];
  let otherHeard: (() => void) | undefined;

  beforeEach(() => {
    heardByOther = [];
    other = new BroadcastChannel(`leash:bus:${FILE}`);
    other.onmessage = (event) => {
      heardByOther.push((event as { data: unknown }).data);
      otherHeard?.();
    };
  });

  afterEach(() => other.close());

  const nextHeardByOther = () => new Promise<void>((resolve) => (otherHeard = resolve));

  it("wakes every member of this thread with another thread's message, and tells the other thread its own", async () => {
    const heardA: string[] = [];
    const heardB: string[] = [];
    let bothHeard!: () => void;
    const both = new Promise<void>((resolve) => (bothHeard = resolve));
    const a = joinFileChannel<string>('bus', FILE, (message) => {
      heardA.push(message);
      if (heardB.length > 0) bothHeard();
    });
    const b = joinFileChannel<string>('bus', FILE, (message) => {
      heardB.push(message);
      if (heardA.length > 0) bothHeard();
    });
    try {
      const heard = nextHeardByOther();
      a.post('from-a');
      await heard;
      expect(heardByOther).toEqual(['from-a']);

      other.postMessage('from-another-thread');
      await both;
      // Members of one thread share the channel: neither heard the other's post.
      expect(heardA).toEqual(['from-another-thread']);
      expect(heardB).toEqual(['from-another-thread']);
    } finally {
      a.leave();
      b.leave();
    }
  });

  it('keeps kinds and files apart, and a member that left neither hears nor posts', async () => {
    const heard: string[] = [];
    const store = joinFileChannel<string>('store', FILE, (message) => heard.push(message));
    const elsewhere = joinFileChannel<string>('bus', '/elsewhere.db', (message) =>
      heard.push(message),
    );
    const left = joinFileChannel<string>('bus', FILE, (message) => heard.push(`left:${message}`));
    left.leave();
    left.post('after-leaving');
    const stays: string[] = [];
    let stayed!: () => void;
    const stayedHeard = new Promise<void>((resolve) => (stayed = resolve));
    const stay = joinFileChannel<string>('bus', FILE, (message) => {
      stays.push(message);
      stayed();
    });
    try {
      other.postMessage('bus-news');
      await stayedHeard;
      expect(stays).toEqual(['bus-news']);
      expect(heard).toEqual([]);
      // What the member posted after leaving never reached the other thread.
      const heardNext = nextHeardByOther();
      stay.post('still-here');
      await heardNext;
      expect(heardByOther).toEqual(['still-here']);
    } finally {
      store.leave();
      elsewhere.leave();
      stay.leave();
    }
  });
});
