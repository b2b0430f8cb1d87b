const HOW =
  'MONGO_URL is unset; start a MongoDB replica set (`docker compose up -d mongo`, or mongod --replSet rs0 then rs.initiate()) and export MONGO_URL=mongodb://127.0.0.1:27017/?replicaSet=rs0';

/**
 * A describe block that needs a real MongoDB replica set. Without MONGO_URL
 * it is reported as skipped, with one line in the run's output that says why
 * and how to run it: these tests never pass silently.
 */
export function describeOnMongo(title: string, body: (url: string) => void): void {
  const url = process.env.MONGO_URL?.trim();
  if (url) {
    describe(title, () => body(url));
    return;
  }
  process.stderr.write(`SKIPPED ${title}: ${HOW}\n`);
  describe(title, () => {
    it.skip(`SKIPPED: ${HOW}`, () => undefined);
  });
}

/**
 * A describe block for a MongoDB-compatible server without transactions
 * (FerretDB), named by MONGO_URL_WITHOUT_TRANSACTIONS: the store's parts that
 * need none. Skipped with one line when it is unset.
 */
export function describeOnMongoWithoutTransactions(
  title: string,
  body: (url: string) => void,
): void {
  const url = process.env.MONGO_URL_WITHOUT_TRANSACTIONS?.trim();
  if (url) {
    describe(title, () => body(url));
    return;
  }
  const how =
    'MONGO_URL_WITHOUT_TRANSACTIONS is unset; start a compatible server without transactions (FerretDB 1.x on SQLite) and export its URL';
  process.stderr.write(`SKIPPED ${title}: ${how}\n`);
  describe(title, () => {
    it.skip(`SKIPPED: ${how}`, () => undefined);
  });
}
