import { describe, it } from 'node:test';
import { createMemcachedStore } from '../../src/stores/memcached.js';
import { runStoreSuite } from '../../src/testing/index.js';
import { requireServiceUrl } from '../services/require.js';

const url = requireServiceUrl('memcached');

runStoreSuite({
  name: 'memcached',
  createStore: () => createMemcachedStore({ url }),
  crossProcess: {
    module: new URL('../fixtures/store-from-env.ts', import.meta.url).href,
    env: { SESSIONLOCK_TEST_STORE_URL: url },
  },
  test: { describe, it },
});
