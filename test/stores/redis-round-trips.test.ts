// Round trips to Redis per request, counted on the wire side of the ioredis client (every
// command it sends), not by timing: the cost model says 2 for an exclusive request and 1
// for a readonly one, on a single server and on a Cluster.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Cluster, Redis, type Command } from 'ioredis';
import { createSessionManager, type SessionManager } from '../../src/index.js';
import { native } from '../../src/stores/_native/redis.js';
import { createRedisStore } from '../../src/stores/redis.js';
import { requireServiceUrl, requireServiceUrls } from '../services/require.js';
import { newCookie } from '../fixtures/new-cookie.js';

const secret = 'round-trip-test-secret';

/**
 * Load every script on `node`, as a long-running server has them: the first EVALSHA of a
 * script on a server that has not seen it answers NOSCRIPT, and the store then sends
 * its text once (EVAL), which is a cold-start cost, not a per-request one.
 */
async function loadScripts(node: Redis): Promise<void> {
  for (const lua of Object.values(native)) await node.script('LOAD', lua);
}

/** Counts the commands `client` writes to its socket, by name. */
function countCommands(client: Redis): string[] {
  const sent: string[] = [];
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command: Command, stream?: Parameters<Redis['sendCommand']>[1]) => {
    sent.push(command.name);
    return send(command, stream);
  };
  return sent;
}


/** One request of each kind, returning the commands each sent. */
async function measure(manager: SessionManager, sent: string[]): Promise<{ exclusive: string[]; readonly: string[]; untouched: string[] }> {
  const cookie = await newCookie(manager);
  const take = (): string[] => sent.splice(0);
  take();
  const exclusive = await manager.open(cookie);
  exclusive.data.hits = 1;
  await manager.commit(exclusive);
  const exclusiveSent = take();
  const untouched = await manager.open(cookie);
  await manager.commit(untouched);
  const untouchedSent = take();
  const readonly = await manager.open(cookie, { mode: 'readonly' });
  assert.equal(readonly.data.hits, 1);
  await manager.commit(readonly);
  return { exclusive: exclusiveSent, untouched: untouchedSent, readonly: take() };
}

describe('redis round trips per request', () => {
  const clients: (Redis | Cluster)[] = [];
  after(async () => {
    await Promise.all(clients.map((client) => client.quit()));
  });

  it('costs 2 round trips exclusive and 1 readonly on a single server', async () => {
    const client = new Redis(requireServiceUrl('redis'));
    clients.push(client);
    await loadScripts(client);
    const sent = countCommands(client);
    const manager = createSessionManager({ store: createRedisStore({ client }), secret });
    const counts = await measure(manager, sent);
    assert.deepEqual(counts.exclusive, ['evalsha', 'evalsha'], 'exclusive: acquire+load, then save+release');
    assert.deepEqual(counts.untouched, ['evalsha', 'evalsha'], 'exclusive, nothing changed: acquire+load, then release');
    assert.deepEqual(counts.readonly, ['evalsha'], 'readonly: one lock-free read');
    await manager.close();
  });

  it('costs 2 round trips exclusive and 1 readonly on a Redis Cluster', async () => {
    const nodes = requireServiceUrls('redis-cluster').map((url) => {
      const { hostname, port } = new URL(url);
      return { host: hostname, port: Number(port) };
    });
    const cluster = new Cluster(nodes);
    clients.push(cluster);
    await new Promise<void>((resolve, reject) => {
      cluster.once('ready', resolve);
      cluster.once('error', reject);
    });
    // Count on each node connection, so a MOVED/ASK redirection would show as an extra trip.
    const sent: string[] = [];
    const masters = cluster.nodes('master');
    assert.equal(masters.length, 3);
    for (const node of masters) await loadScripts(node);
    masters.forEach((node) => {
      const names = countCommands(node);
      const push = names.push.bind(names);
      names.push = (...more: string[]) => {
        sent.push(...more);
        return push(...more);
      };
    });
    const manager = createSessionManager({ store: createRedisStore({ client: cluster }), secret });
    const counts = await measure(manager, sent);
    assert.deepEqual(counts.exclusive, ['evalsha', 'evalsha']);
    assert.deepEqual(counts.untouched, ['evalsha', 'evalsha']);
    assert.deepEqual(counts.readonly, ['evalsha']);
    await manager.close();
  });
});
