import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSqliteStore } from '../../src/stores/sqlite.js';
import { runStoreSuite } from '../../src/testing/index.js';

const path = join(mkdtempSync(join(tmpdir(), 'sessionlock-sqlite-')), 'sessions.db');

runStoreSuite({
  name: 'sqlite',
  createStore: () => createSqliteStore({ path }),
  crossProcess: {
    module: new URL('../fixtures/store-from-env.ts', import.meta.url).href,
    env: { SESSIONLOCK_TEST_STORE_URL: `sqlite:${path}` },
  },
  test: { describe, it },
});
