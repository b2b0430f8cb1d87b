// Opens and closes the embedded engines in a fresh process, then prints how many kafkajs
// and mongoose modules that loaded: the embedded default must load none. Args: <bus file> <store file>.
import { BASE_ENV, loadConfig } from '@leash/config';
import { openEngines } from '../src';

async function main(): Promise<void> {
  const [busFile, storeFile] = process.argv.slice(2);
  const env = { LEASH_BUS_FILE: busFile, LEASH_STORE_FILE: storeFile };
  const engines = await openEngines(loadConfig(BASE_ENV, { env }), {
    source: 'test',
    relayOutbox: false,
  });
  await engines.close();
  const adapters = Object.keys(require.cache).filter(
    (path) =>
      path.includes('/node_modules/kafkajs/') ||
      path.includes('/node_modules/mongoose/') ||
      path.includes('/node_modules/mongodb/'),
  );
  process.stdout.write(String(adapters.length));
}

void main();
