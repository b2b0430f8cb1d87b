import { InMemoryEngine, InMemoryTransport } from '@leash/bus';
import { describeBusContract } from './bus-contract.suite';

// The in-memory transport (for services' unit tests) keeps the same contract as the engines.
describeBusContract('in-memory', () => {
  let engine: InMemoryEngine | undefined;
  const opened: InMemoryTransport[] = [];
  const attach = (transport: InMemoryTransport): InMemoryTransport => {
    opened.push(transport);
    return transport;
  };
  return {
    async open() {
      engine = new InMemoryEngine();
      return attach(InMemoryTransport.shared(engine));
    },
    async openPeer() {
      if (!engine) throw new Error('open() first');
      return attach(InMemoryTransport.shared(engine));
    },
    async crash(transport) {
      (transport as InMemoryTransport).crash();
    },
    async cleanup() {
      await Promise.all(opened.splice(0).map((transport) => transport.close()));
    },
  };
});
