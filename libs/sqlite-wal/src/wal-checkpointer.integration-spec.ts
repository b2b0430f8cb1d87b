import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { waitFor } from '@leash/testing';
import { startWalCheckpointer, type WalCheckpointerOptions } from './wal-checkpointer';

describe('startWalCheckpointer', () => {
  let dir: string;
  let file: string;
  let db: Database.Database;
  const options = (onError = jest.fn()): WalCheckpointerOptions => ({
    intervalMs: 5,
    busyTimeoutMs: 1000,
    onError,
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-wal-'));
    file = join(dir, 'test.db');
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    // Only the worker may move pages from the WAL into the database file.
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes about 400 KB, all of it to the WAL; returns the database file's size before any checkpoint. */
  function write(): number {
    const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 400; i++) insert.run('x'.repeat(1000));
    })();
    return statSync(file).size;
  }

  it('copies the WAL into the database file from a worker thread', async () => {
    const before = write();
    const onError = jest.fn();
    const checkpointer = startWalCheckpointer(file, options(onError));
    await waitFor(() => statSync(file).size > before + 300_000, {
      description: 'the rows checkpointed into the database file',
    });
    await checkpointer.stop();
    expect(onError).not.toHaveBeenCalled();
  });

  it('still checkpoints a write that comes after a quiet spell, within the idle pace', async () => {
    const onError = jest.fn();
    const checkpointer = startWalCheckpointer(file, { ...options(onError), idleIntervalMs: 100 });
    const first = write();
    await waitFor(() => statSync(file).size > first + 300_000, { description: 'the first rows' });
    // From here checkpoints find nothing new and slow down (to every 100 ms at most); a write resets them.
    const second = write();
    await waitFor(() => statSync(file).size > second + 300_000, {
      description: 'the rows written after the quiet spell',
      timeoutMs: 2_000,
    });
    await checkpointer.stop();
    expect(onError).not.toHaveBeenCalled();
  });

  it('shares one worker per file until the last share stops, then starts anew', async () => {
    const first = startWalCheckpointer(file, options());
    const second = startWalCheckpointer(file, options());
    await first.stop();
    await first.stop(); // a second stop is the first one's promise, not another share
    const before = write();
    await waitFor(() => statSync(file).size > before + 300_000, {
      description: 'the remaining share still checkpointing',
    });
    await second.stop();
    const again = startWalCheckpointer(file, options());
    const size = write();
    await waitFor(() => statSync(file).size > size + 300_000, {
      description: 'a new worker after the last stop',
    });
    await again.stop();
  });

  it('reports a worker that cannot open its file to every share', async () => {
    const missing = join(dir, 'no-such-dir', 'test.db');
    const a = jest.fn();
    const b = jest.fn();
    const first = startWalCheckpointer(missing, options(a));
    const second = startWalCheckpointer(missing, options(b));
    await waitFor(() => a.mock.calls.length > 0 && b.mock.calls.length > 0, {
      description: 'both shares told',
    });
    expect(String((a.mock.calls[0][0] as Error).message)).toMatch(/directory does not exist/);
    await Promise.all([first.stop(), second.stop()]);
  });
});
