import { describe, it } from 'node:test';
import { createRedisStore } from '../../src/stores/redis.js';
import { runStoreSuite } from '../../src/testing/index.js';
import { requireServiceUrl } from '../services/require.js';

const url = requireServiceUrl('redis');

runStoreSuite({
  name: 'redis',
  createStore: () => createRedisStore({ url }),
  crossProcess: {
    module: new URL('../fixtures/store-from-env.ts', import.meta.url).href,
    env: { SESSIONLOCK_TEST_STORE_URL: url },
  },
  test: { describe, it },
});
