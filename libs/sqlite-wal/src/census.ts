import Database from 'better-sqlite3';

/*
 * A census of the SQL the embedded engines run: how many statements and
 * commits, per file, while it is on. Benchmarks print it per action and per
 * step, and a spec keeps the count from creeping back. It counts at
 * better-sqlite3's statement methods, so every caller is seen (the store's
 * group commit, the bus log's transactions, PRAGMAs), and costs nothing
 * while off: the methods are only wrapped between start and stop.
 */

export interface SqliteCensusCounts {
  /** Statements run (prepared statements' run/get/all/iterate, and exec calls). */
  readonly statements: number;
  /** COMMITs: transactions that reached the file. */
  readonly commits: number;
  /** The same two per database file (`:memory:` for in-memory ones). */
  readonly byFile: Readonly<Record<string, { statements: number; commits: number }>>;
  /** Statements run, per SQL text (as prepared, or as given to exec). */
  readonly bySql: Readonly<Record<string, number>>;
}

export interface SqliteCensus {
  /** What was counted since start (or the last reset). */
  counts(): SqliteCensusCounts;
  reset(): void;
  /** Puts the methods back. */
  stop(): void;
}

const METHODS = ['run', 'get', 'all', 'iterate'] as const;

type StatementLike = { readonly source: string; readonly database: { readonly name: string } };
type Method = (this: unknown, ...args: unknown[]) => unknown;

let running: SqliteCensus | undefined;

/** Starts counting in this process; one census at a time. */
export function startSqliteCensus(): SqliteCensus {
  if (running) throw new Error('a SQLite census is already running in this process');
  const probe = new Database(':memory:');
  const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, Method>;
  probe.close();
  const databaseProto = Database.prototype as unknown as Record<string, Method>;
  const originals = new Map<string, Method>();
  let byFile = new Map<string, { statements: number; commits: number }>();
  let bySql = new Map<string, number>();

  const count = (file: string, sql: string): void => {
    let entry = byFile.get(file);
    if (!entry) byFile.set(file, (entry = { statements: 0, commits: 0 }));
    entry.statements += 1;
    bySql.set(sql, (bySql.get(sql) ?? 0) + 1);
    if (sql.length <= 8 && /^(COMMIT|END)/i.test(sql)) entry.commits += 1;
  };
  for (const method of METHODS) {
    const original = statementProto[method]!;
    originals.set(method, original);
    statementProto[method] = function (this: unknown, ...args: unknown[]) {
      const statement = this as StatementLike;
      count(statement.database.name, statement.source);
      return original.apply(this, args);
    };
  }
  const exec = databaseProto.exec!;
  databaseProto.exec = function (this: unknown, ...args: unknown[]) {
    count((this as { readonly name: string }).name, String(args[0]));
    return exec.apply(this, args);
  };

  const census: SqliteCensus = {
    counts() {
      let statements = 0;
      let commits = 0;
      const files: Record<string, { statements: number; commits: number }> = {};
      for (const [file, entry] of byFile) {
        statements += entry.statements;
        commits += entry.commits;
        files[file] = { ...entry };
      }
      return { statements, commits, byFile: files, bySql: Object.fromEntries(bySql) };
    },
    reset() {
      byFile = new Map();
      bySql = new Map();
    },
    stop() {
      if (running !== census) return;
      for (const [method, original] of originals) statementProto[method] = original;
      databaseProto.exec = exec;
      running = undefined;
    },
  };
  running = census;
  return census;
}
