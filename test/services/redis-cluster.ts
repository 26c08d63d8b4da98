// A private 3-master Redis Cluster on loopback: three redis-server processes with
// cluster mode on, joined and given all 16,384 slots by `redis-cli --cluster create`.
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBinary, freePortPair, runChecked } from './_process.js';
import { REDIS_PACKAGES, startRedis, type RedisService } from './redis.js';

/** Redis Cluster's bus port is the client port plus this. */
const BUS_PORT_OFFSET = 10_000;
/** How long the cluster may take to report `cluster_state:ok` after creation, in ms. */
const CLUSTER_READY_TIMEOUT_MS = 20_000;

/** A running private Redis Cluster. */
export interface RedisClusterService {
  /** `redis://127.0.0.1:<port>` of each master. */
  readonly urls: readonly string[];
  /** The masters, each stoppable on its own. */
  readonly nodes: readonly RedisService[];
  /** Stop every node and remove its data. */
  stop(): Promise<void>;
}

/** Start a 3-master Redis Cluster (no replicas) on free loopback ports. */
export async function startRedisCluster(masters = 3): Promise<RedisClusterService> {
  const cli = await ensureBinary(['redis-cli'], REDIS_PACKAGES);
  const ports: number[] = [];
  for (let index = 0; index < masters; index += 1) {
    let port = await freePortPair(BUS_PORT_OFFSET);
    while (ports.includes(port)) port = await freePortPair(BUS_PORT_OFFSET);
    ports.push(port);
  }
  const nodes = await Promise.all(
    ports.map((port, index) =>
      startRedis({
        port,
        name: `redis-cluster-${index + 1}`,
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '5000'],
      }),
    ),
  );
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    runChecked(cli, ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes']);
    await waitUntilReady(cli, ports);
  } catch (error) {
    await stop();
    throw error;
  }
  return { urls: ports.map((port) => `redis://127.0.0.1:${port}`), nodes, stop };
}

/** Wait until every node sees the cluster as healthy, with all slots served. */
async function waitUntilReady(cli: string, ports: readonly number[]): Promise<void> {
  const deadline = Date.now() + CLUSTER_READY_TIMEOUT_MS;
  for (;;) {
    const states = ports.map((port) => runChecked(cli, ['-h', '127.0.0.1', '-p', String(port), 'cluster', 'info']));
    if (states.every((info) => info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384'))) return;
    if (Date.now() > deadline) throw new Error(`the Redis Cluster did not become healthy within ${CLUSTER_READY_TIMEOUT_MS} ms:\n${states.join('\n')}`);
    await sleep(50);
  }
}
