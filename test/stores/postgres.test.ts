import { describe, it } from 'node:test';
import { createPostgresStore } from '../../src/stores/postgres.js';
import { runStoreSuite } from '../../src/testing/index.js';
import { requireServiceUrl } from '../services/require.js';

const url = requireServiceUrl('postgres');

runStoreSuite({
  name: 'postgres',
  createStore: () => createPostgresStore({ url, poolSize: 4 }),
  crossProcess: {
    module: new URL('../fixtures/store-from-env.ts', import.meta.url).href,
    env: { SESSIONLOCK_TEST_STORE_URL: url },
  },
  test: { describe, it },
});
