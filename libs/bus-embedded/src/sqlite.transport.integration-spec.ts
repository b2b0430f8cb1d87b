import type { BusTransport } from '@leash/bus';
import { describeBusContract, type BusContractHarness } from '@leash/contract-suites';
import { cleanupTemp, tempBusFile } from '../test/bus-files';
import { SqliteTransport } from './sqlite.transport';

function sqliteHarness(): BusContractHarness {
  let file: string | undefined;
  const transports: SqliteTransport[] = [];
  const openOn = (filename: string) => {
    const transport = new SqliteTransport({ filename });
    transports.push(transport);
    return transport;
  };
  return {
    async open() {
      file = tempBusFile('leash-bus-contract-');
      return openOn(file);
    },
    async openPeer() {
      if (!file) throw new Error('openPeer() needs an open() first');
      return openOn(file);
    },
    async crash(transport: BusTransport) {
      (transport as SqliteTransport).abandon();
    },
    async cleanup() {
      await Promise.all(transports.splice(0).map((t) => t.close()));
      cleanupTemp();
    },
  };
}

describeBusContract('sqlite (embedded)', sqliteHarness);
