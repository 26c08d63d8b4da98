import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createFileStore } from '../../src/stores/file.js';
import { runStoreSuite } from '../../src/testing/index.js';

const dir = mkdtempSync(join(tmpdir(), 'sessionlock-file-'));

runStoreSuite({
  name: 'file',
  createStore: () => createFileStore({ dir }),
  crossProcess: {
    module: new URL('../fixtures/store-from-env.ts', import.meta.url).href,
    env: { SESSIONLOCK_TEST_STORE_URL: `file:${dir}` },
  },
  test: { describe, it },
});
