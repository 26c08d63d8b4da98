import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const fixture = fileURLToPath(new URL('../fixtures/require-express.cjs', import.meta.url));
const built = fileURLToPath(new URL('../../dist/adapters/express.cjs', import.meta.url));

it("require('sessionlock/express') answers the middleware factory in a CommonJS app", async () => {
  // The CommonJS entry loads the build: `npm test` builds first; alone, run `npm run build`.
  assert.ok(existsSync(built), 'dist/ is missing: run `npm run build` first');
  const { stdout } = await promisify(execFile)(process.execPath, [fixture], { timeout: 30_000 });
  assert.deepEqual(JSON.parse(stdout), { isFunction: true, statics: true, inherits: true, views: ['1', '2'], cookie: true });
});
