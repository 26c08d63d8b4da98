// Per-turn write batching on real loopback sockets: the writes of one turn of the event
// loop leave together and in order, later turns are not held back, and installing it
// twice changes nothing.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { batchWritesPerTick } from '../../src/stores/_tick-batched-writes.js';

const nextTick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

/** A loopback server that collects what it receives, and a client socket connected to it. */
async function pair(): Promise<{ client: Socket; received: () => string; close: () => Promise<void> }> {
  let text = '';
  const server = createServer((socket) => socket.on('data', (chunk: Buffer) => (text += chunk.toString())));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const client = connect(address.port, '127.0.0.1');
  await once(client, 'connect');
  return {
    client,
    received: () => text,
    close: async () => {
      client.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Waits until `received()` has `length` characters, at most 200 turns of 5 ms. */
async function until(received: () => string, length: number): Promise<string> {
  for (let turn = 0; turn < 200 && received().length < length; turn += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  return received();
}

describe('batchWritesPerTick', () => {
  it('holds the writes of one turn and sends them together, in order, once the turn is done', async () => {
    const { client, received, close } = await pair();
    try {
      batchWritesPerTick(client);
      batchWritesPerTick(client);
      client.write('a');
      client.write('b');
      await Promise.resolve();
      client.write('c');
      assert.equal(client.writableCorked, 1, 'one cork for the whole turn, even when installed twice');
      assert.equal(client.writableLength, 3, 'all three wait for the end of the turn');
      await nextTick();
      assert.equal(client.writableCorked, 0);
      client.write('d');
      assert.equal(client.writableCorked, 1, 'a later turn starts its own batch');
      assert.equal(await until(received, 4), 'abcd');
    } finally {
      await close();
    }
  });

  it('leaves a socket that was never given to it alone', async () => {
    const { client, received, close } = await pair();
    try {
      client.write('x');
      assert.equal(client.writableCorked, 0);
      assert.equal(await until(received, 1), 'x');
    } finally {
      await close();
    }
  });
});
