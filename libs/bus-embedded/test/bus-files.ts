import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';

/** Test helpers: temp bus files, direct reads of the file, and fixture child processes. */

const dirs: string[] = [];
const children = new Set<ChildProcess>();

/** A fresh directory under the OS temp dir; removed by `cleanupTemp`. */
export function tempDir(label = 'leash-bus-'): string {
  const dir = mkdtempSync(join(tmpdir(), label));
  dirs.push(dir);
  return dir;
}

export function tempBusFile(label?: string): string {
  return join(tempDir(label), 'bus.db');
}

export function cleanupTemp(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children.clear();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * Parks a handler until the test releases it, or until the consumer aborts its
 * signal: a test that fails before releasing still closes instead of hanging.
 */
export function parked(signal: AbortSignal, onPark: (release: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    onPark(resolve);
    signal.addEventListener('abort', () => resolve());
  });
}

/** Reads the file through its own connection, as an operator's sqlite3 shell would. */
export function inspect<T>(file: string, read: (db: Database.Database) => T): T {
  const db = new Database(file, { timeout: 5000 });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** Committed next offsets of a group, by `topic:partition`. */
export function committedOffsets(file: string, group: string): Map<string, number> {
  return inspect(file, (db) => {
    const rows = db
      .prepare(
        `SELECT t.name AS topic, o.part AS part, o.next_offset AS next FROM bus_offsets o
         JOIN bus_topics t ON t.id = o.topic_id WHERE o.group_name = ?`,
      )
      .all(group) as Array<{ topic: string; part: number; next: number }>;
    return new Map(rows.map((r) => [`${r.topic}:${r.part}`, r.next]));
  });
}

/** Partitions each member of a group holds a lease on, by member id. */
export function leaseHolders(file: string, group: string): Map<string, number> {
  return inspect(file, (db) => {
    const rows = db
      .prepare(
        'SELECT member_id AS member, count(*) AS n FROM bus_leases WHERE group_name = ? GROUP BY member_id',
      )
      .all(group) as Array<{ member: string; n: number }>;
    return new Map(rows.map((r) => [r.member, r.n]));
  });
}

const ROOT = resolve(__dirname, '../../..');

/** Runs a fixture script in its own node process, with the workspace's path aliases. */
export function spawnFixture(script: string, args: readonly string[]): ChildProcess {
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', join(__dirname, script), ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.on('exit', (code, signal) => {
    if (code !== 0 && code !== null && signal === null) {
      process.stderr.write(`fixture ${script} exited with ${code}:\n${stderr}\n`);
    }
  });
  children.add(child);
  return child;
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => child.once('exit', () => resolveExit()));
}
