import { describe, it } from 'node:test';
import { createMysqlStore } from '../../src/stores/mysql.js';
import { runStoreSuite } from '../../src/testing/index.js';
import { requireServiceUrl } from '../services/require.js';

const url = requireServiceUrl('mysql');

runStoreSuite({
  name: 'mysql',
  createStore: () => createMysqlStore({ url, poolSize: 4 }),
  crossProcess: {
    module: new URL('../fixtures/store-from-env.ts', import.meta.url).href,
    env: { SESSIONLOCK_TEST_STORE_URL: url },
  },
  test: { describe, it },
});

// The acquire MySQL takes (an UPDATE, then a SELECT), run here on MariaDB. Its child
// processes acquire with RETURNING, so the two forms also share sessions correctly.
runStoreSuite({
  name: 'mysql, acquiring as on MySQL',
  createStore: () => createMysqlStore({ url, poolSize: 4, returning: false }),
  crossProcess: {
    module: new URL('../fixtures/store-from-env.ts', import.meta.url).href,
    env: { SESSIONLOCK_TEST_STORE_URL: url },
  },
  test: { describe, it },
});
