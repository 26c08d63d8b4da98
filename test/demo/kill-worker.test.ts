// kill -9 of the cluster worker that holds a session's lease: the lease lapses, the next
// request on that session succeeds in another worker, the killed request's update is
// simply not there, and the primary forks a replacement.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cookieOf, hitsOf, send, startDemo, type DemoProcess, type Reply } from './_demo-process.js';

/** Short, so the lapse is quick; the library renews at a third of it while a request runs. */
const LEASE_MS = 2000;
/** Bounds of the polling loops below (counts, not timing assertions). */
const MAX_PROBES = 200;
const PROBE_PAUSE_MS = 20;

describe('demo: kill -9 of the worker holding a lease (WORKERS=2, SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessionlock-demo-kill-'));
  let demo: DemoProcess;

  before(async () => {
    demo = await startDemo({
      WORKERS: '2',
      SESSIONLOCK_STORE: `sqlite:${join(dir, 's.db')}`,
      SESSION_SECRET: 'kill-test-secret',
      SESSIONLOCK_LEASE_MS: String(LEASE_MS),
    });
  });
  after(async () => {
    await demo?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Worker pids seen on new connections until `enough` says stop; bounded by MAX_PROBES. */
  const pidsSeen = async (enough: (pids: Set<number>) => boolean): Promise<Set<number>> => {
    const pids = new Set<number>();
    for (let i = 0; i < MAX_PROBES && !enough(pids); i += 1) {
      const reply = await send(`${demo.url}/api/session`);
      if (reply.status === 200) pids.add(reply.pid);
      else await sleep(PROBE_PAUSE_MS);
    }
    return pids;
  };

  it('lets the next request through once the lease lapses, without the killed update', async (t) => {
    const first = await send(`${demo.url}/api/hit?work=0`, { method: 'POST' });
    assert.equal(first.status, 200);
    const cookie = cookieOf(first);
    let committed = hitsOf(first);
    const workers = await pidsSeen((pids) => pids.size >= 2);
    assert.equal(workers.size, 2, 'both workers answer');

    // A keep-alive socket stays with the worker that accepted it: ask it who it is, then
    // send the long request down the same socket, so we know which process holds it.
    const pinned = new Agent({ keepAlive: true, maxSockets: 1 });
    const victim = (await send(`${demo.url}/api/session`, { cookie, agent: pinned })).pid;
    const long = send(`${demo.url}/api/hit?work=5000`, { method: 'POST', cookie, agent: pinned }).then(
      (reply: Reply) => reply,
      (error: unknown) => error,
    );

    // An optimistic save is refused (409) while another request holds the live lease:
    // that tells us the long request has it. A probe that gets in first counts as a hit.
    let held = false;
    for (let i = 0; i < MAX_PROBES && !held; i += 1) {
      const probe = await send(`${demo.url}/api/hit?work=0&lock=optimistic`, { method: 'POST', cookie });
      if (probe.status === 409) held = true;
      else {
        assert.equal(probe.status, 200);
        committed = hitsOf(probe);
        await sleep(PROBE_PAUSE_MS);
      }
    }
    assert.ok(held, 'the long request took the lease');

    process.kill(victim, 'SIGKILL');
    const killedAt = performance.now();
    const outcome = await long;
    assert.ok(outcome instanceof Error, 'the killed request never answers');
    pinned.destroy();
    // The primary notices the death before it routes new connections away from the dead worker.
    await demo.waitForStderr(`worker ${victim} died`);

    const next = await send(`${demo.url}/api/hit?work=0`, { method: 'POST', cookie });
    const recoveredMs = performance.now() - killedAt;
    assert.equal(next.status, 200, next.body);
    assert.notEqual(next.pid, victim);
    // The killed request incremented in memory but never committed: exactly one more.
    assert.equal(hitsOf(next), committed + 1);
    t.diagnostic(`next request on the session succeeded ${Math.round(recoveredMs)} ms after kill -9 (lease ${LEASE_MS} ms)`);

    // The primary forked a replacement that serves requests.
    const after = await pidsSeen((pids) => [...pids].some((pid) => !workers.has(pid)));
    const replacement = [...after].find((pid) => !workers.has(pid));
    assert.ok(replacement !== undefined, 'a new worker answers');
    assert.equal(hitsOf(await send(`${demo.url}/api/session`, { cookie })), committed + 1);
  });
});
