// `npm start` from scratch: no settings at all, a working directory without data/, and
// the demo must create its SQLite file, warn about the missing secret, and shut down
// cleanly; with several workers, the secret made by the primary is shared by all.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cookieOf, hitsOf, send, startDemo } from './_demo-process.js';

/** Bound of the loop that looks for a second worker. */
const MAX_PROBES = 100;

describe('demo startup', () => {
  it('runs with no settings from a clean directory on ./data/sessions.db', async (t) => {
    const cwd = mkdtempSync(join(tmpdir(), 'sessionlock-demo-start-'));
    t.after(() => rmSync(cwd, { recursive: true, force: true }));
    const demo = await startDemo({}, cwd);
    try {
      assert.match(demo.stdout(), /^The Daily Lease \(sessionlock demo\): http:\/\/127\.0\.0\.1:\d+\/ .*store sqlite:\.\/data\/sessions\.db\n$/);
      assert.match(demo.stderr(), /SESSION_SECRET is not set/);
      const hit = await send(`${demo.url}/api/hit`, { method: 'POST' });
      assert.equal(hit.status, 200);
      assert.equal(hitsOf(hit), 1);
      assert.equal(hitsOf(await send(`${demo.url}/api/session`, { cookie: cookieOf(hit) })), 1);
      assert.ok(existsSync(join(cwd, 'data', 'sessions.db')), 'the store file is created under the working directory');
    } finally {
      assert.equal(await demo.stop(), 0, 'SIGTERM shuts down cleanly');
    }
  });

  it('shares the generated secret with every worker', async (t) => {
    const cwd = mkdtempSync(join(tmpdir(), 'sessionlock-demo-start-'));
    t.after(() => rmSync(cwd, { recursive: true, force: true }));
    const demo = await startDemo({ WORKERS: '2' }, cwd);
    try {
      assert.match(demo.stdout(), / 2 workers /);
      assert.equal(demo.stderr().match(/SESSION_SECRET is not set/g)?.length, 1, 'warned once, by the primary');
      const hit = await send(`${demo.url}/api/hit`, { method: 'POST' });
      const cookie = cookieOf(hit);
      // Each new connection may go to either worker; both must accept the cookie.
      const pidsWithSession = new Set<number>();
      for (let i = 0; i < MAX_PROBES && pidsWithSession.size < 2; i += 1) {
        const reply = await send(`${demo.url}/api/session`, { cookie });
        assert.equal(hitsOf(reply), 1, `worker ${reply.pid} reads the session`);
        pidsWithSession.add(reply.pid);
      }
      assert.equal(pidsWithSession.size, 2);
    } finally {
      assert.equal(await demo.stop(), 0, 'SIGTERM stops every worker and the primary cleanly');
    }
  });

  it('refuses a bad setting with a clear message', async () => {
    await assert.rejects(startDemo({ WORKERS: 'many' }), /WORKERS must be an integer from 1 to 64/);
    await assert.rejects(startDemo({ SESSIONLOCK_STORE: 'nosuch://x' }), /cannot start/);
  });
});
