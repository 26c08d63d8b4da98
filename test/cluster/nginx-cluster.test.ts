// Seed 004, end to end: a real nginx round-robins one visitor's overlapping requests over
// three demo nodes, each its own process, that share nothing but the store. Sticky routing
// is off on purpose: the store's leases alone must keep every hit.
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { cookieOf, hitsOf, inParallel, send, startDemo, type DemoProcess } from '../demo/_demo-process.js';
import { startNginx, type NginxService } from '../services/nginx.js';
import { requireServiceUrl, requireServiceUrls } from '../services/require.js';

const TOTAL = 3000;
const IN_FLIGHT = 60;
const NODES = 3;
const SECRET = 'nginx-cluster-test-secret';
/** Simulated rendering per hit while the session is held: 0..20 ms, drawn per request. */
const randomWorkMs = (): number => Math.floor(Math.random() * 21);

const targets = [
  { name: 'Redis', url: () => requireServiceUrl('redis') },
  { name: 'the Redis Cluster', url: () => `redis://${requireServiceUrls('redis-cluster').map((node) => new URL(node).host).join(',')}` },
  { name: 'PostgreSQL', url: () => requireServiceUrl('postgres') },
  { name: 'MariaDB', url: () => requireServiceUrl('mysql') },
];

/** Three demo processes on one store, behind nginx. */
export async function startCluster(storeUrl: string): Promise<{ nodes: DemoProcess[]; nginx: NginxService; stop(): Promise<void> }> {
  const nodes: DemoProcess[] = [];
  let nginx: NginxService | undefined;
  const stop = async (): Promise<void> => {
    await nginx?.stop();
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let index = 0; index < NODES; index += 1) {
      nodes.push(await startDemo({ WORKERS: '1', SESSIONLOCK_STORE: storeUrl, SESSION_SECRET: SECRET }));
    }
    nginx = await startNginx({ upstreamPorts: nodes.map((node) => Number(new URL(node.url).port)) });
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, nginx, stop };
}

for (const target of targets) {
  describe(`nginx over ${NODES} demo nodes sharing ${target.name}`, () => {
    let cluster: Awaited<ReturnType<typeof startCluster>>;
    const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });

    before(async () => {
      cluster = await startCluster(target.url());
    });
    after(async () => {
      agent.destroy();
      await cluster?.stop();
    });

    it(`counts exactly ${TOTAL} overlapping hits on one cookie, ${IN_FLIGHT} in flight`, { timeout: 600_000 }, async (t) => {
      const base = cluster.nginx.url;
      const first = await send(`${base}/api/hit?work=0`, { method: 'POST' });
      assert.equal(first.status, 200);
      const cookie = cookieOf(first);
      const startedAt = performance.now();
      const replies = await inParallel(TOTAL, IN_FLIGHT, () =>
        send(`${base}/api/hit?work=${randomWorkMs()}`, { method: 'POST', cookie, agent }),
      );
      const elapsedMs = performance.now() - startedAt;
      const statuses = new Map<number, number>();
      for (const reply of replies) statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      const pids = new Set(replies.map((reply) => reply.pid));
      const counted = hitsOf(await send(`${base}/api/session`, { cookie }));
      t.diagnostic(
        `${target.name}: ${TOTAL} hits over ${pids.size} nodes in ${Math.round(elapsedMs)} ms; ` +
          `statuses ${JSON.stringify(Object.fromEntries(statuses))}; counted ${counted - 1} after the first`,
      );
      assert.equal(pids.size, NODES, 'nginx spread the hits over every node');
      assert.deepEqual(Object.fromEntries(statuses), { 200: TOTAL }, 'every hit answered 200');
      assert.equal(counted, 1 + TOTAL, 'no hit lost');
      // Each hit saw all hits committed before it: every count shows up exactly once.
      const seen = replies.map(hitsOf).sort((a, b) => a - b);
      assert.deepEqual(seen, Array.from({ length: TOTAL }, (_, index) => index + 2));
    });
  });
}
