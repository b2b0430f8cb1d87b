import Database from 'better-sqlite3';
import { startSqliteCensus } from './census';

describe('startSqliteCensus', () => {
  it('counts statements and commits per file and per SQL text, until stopped', () => {
    const db = new Database(':memory:');
    const census = startSqliteCensus();
    try {
      db.exec('CREATE TABLE t (n INTEGER)');
      const insert = db.prepare('INSERT INTO t (n) VALUES (?)');
      db.exec('BEGIN');
      insert.run(1);
      insert.run(2);
      db.exec('COMMIT');
      db.prepare('SELECT count(*) AS n FROM t').get();

      const counts = census.counts();
      expect(counts.statements).toBe(6);
      expect(counts.commits).toBe(1);
      expect(counts.byFile[':memory:']).toEqual({ statements: 6, commits: 1 });
      expect(counts.bySql).toEqual({
        'CREATE TABLE t (n INTEGER)': 1,
        BEGIN: 1,
        'INSERT INTO t (n) VALUES (?)': 2,
        COMMIT: 1,
        'SELECT count(*) AS n FROM t': 1,
      });

      census.reset();
      expect(census.counts()).toEqual({ statements: 0, commits: 0, byFile: {}, bySql: {} });
    } finally {
      census.stop();
    }
    // Stopped: the methods are back and nothing more is counted.
    db.prepare('SELECT 1').get();
    expect(census.counts().statements).toBe(0);
    db.close();
  });
});
