import { describe, it } from 'node:test';
import { createRedisStore } from '../../src/stores/redis.js';
import { runStoreSuite } from '../../src/testing/index.js';
import { requireServiceUrls } from '../services/require.js';

// Several seed nodes in one URL make the store connect to a Redis Cluster.
const url = `redis://${requireServiceUrls('redis-cluster').map((node) => new URL(node).host).join(',')}`;

runStoreSuite({
  name: 'redis-cluster',
  createStore: () => createRedisStore({ url }),
  crossProcess: {
    module: new URL('../fixtures/store-from-env.ts', import.meta.url).href,
    env: { SESSIONLOCK_TEST_STORE_URL: url },
  },
  test: { describe, it },
});
