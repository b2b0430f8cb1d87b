import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mongo } from 'mongoose';

/*
 * A server that speaks just enough of MongoDB's wire protocol to look like a
 * standalone mongod: it answers the handshake and `hello` as one, and every
 * other command with ok. What the store's start-up check is tested against
 * where no MongoDB can be had. OP_QUERY (the legacy handshake) is answered
 * with OP_REPLY, OP_MSG with OP_MSG.
 */

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

export interface FakeServer {
  readonly url: string;
  /** The command names received, in order. */
  readonly commands: string[];
  close(): Promise<void>;
}

/** The `hello` reply of a standalone server (no setName, no msg: isdbgrid). */
function standaloneHello(): Record<string, unknown> {
  return {
    helloOk: true,
    ismaster: true,
    isWritablePrimary: true,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: 1,
    minWireVersion: 0,
    maxWireVersion: 21,
    readOnly: false,
    ok: 1,
  };
}

function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const buffer = Buffer.alloc(16);
  buffer.writeInt32LE(length, 0);
  buffer.writeInt32LE(requestId, 4);
  buffer.writeInt32LE(responseTo, 8);
  buffer.writeInt32LE(opCode, 12);
  return buffer;
}

function replyTo(opCode: number, requestId: number, document: Record<string, unknown>): Buffer {
  const body = Buffer.from(mongo.BSON.serialize(document));
  if (opCode === OP_QUERY) {
    const fields = Buffer.alloc(20); // responseFlags, cursorID (8), startingFrom, numberReturned
    fields.writeInt32LE(1, 16);
    return Buffer.concat([header(16 + 20 + body.length, 1, requestId, OP_REPLY), fields, body]);
  }
  const flags = Buffer.alloc(5); // flagBits, then section kind 0
  return Buffer.concat([header(16 + 5 + body.length, 1, requestId, OP_MSG), flags, body]);
}

/** The command document of a request: OP_QUERY's query, OP_MSG's kind-0 section. */
function commandOf(opCode: number, message: Buffer): Record<string, unknown> | undefined {
  if (opCode === OP_QUERY) {
    const nameEnd = message.indexOf(0, 20);
    return mongo.BSON.deserialize(message.subarray(nameEnd + 1 + 8));
  }
  if (opCode === OP_MSG && message[20] === 0) {
    const size = message.readInt32LE(21);
    return mongo.BSON.deserialize(message.subarray(21, 21 + size));
  }
  return undefined;
}

export async function startStandaloneServer(): Promise<FakeServer> {
  const commands: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 16 && pending.length >= pending.readInt32LE(0)) {
        const length = pending.readInt32LE(0);
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        const requestId = message.readInt32LE(4);
        const opCode = message.readInt32LE(12);
        const command = commandOf(opCode, message);
        const name = command ? (Object.keys(command)[0] ?? '') : '';
        commands.push(name);
        const handshake = ['hello', 'ismaster', 'isMaster'].includes(name);
        socket.write(replyTo(opCode, requestId, handshake ? standaloneHello() : { ok: 1 }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mongodb://127.0.0.1:${port}/leash`,
    commands,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
