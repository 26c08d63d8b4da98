// Group commit of local hand-off chains: the next waiter runs while its predecessor's
// write is in flight, commits that queue meanwhile go out in one write, and a failed
// write fails everything that ran on it. Every step is driven by holding and answering
// the store's writes one by one, so nothing here depends on timing.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSessionManager, isSessionError, type Session, type SessionManager, type SessionStore } from '../../src/index.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { createSqliteStore } from '../../src/stores/sqlite.js';
import { holdingStore, type HoldingStore } from '../fixtures/holding-store.js';
import { newCookie } from '../fixtures/new-cookie.js';

const secret = 'test-secret';
// No run of hand-offs is cut for other processes, however slow the machine (SQLite is cross-process).
const lock = { handoffWindowMs: 600_000 };

function hasCode(code: string, message?: RegExp) {
  return (error: unknown) => isSessionError(error) && error.code === code && (message === undefined || message.test(error.message));
}

/** A promise with its resolve function, to pause a handler until the test lets it go on. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** How a test request behaves, and what it reports. */
interface Step {
  /** Resolves once the handler has the session (it ran). */
  readonly ran: Promise<Session>;
  /** Settles with the commit. */
  readonly done: Promise<string | undefined>;
}

/**
 * One request that increments `hits` and appends its name to `by`; with `pause`, the
 * handler waits for it before committing. `events` gets `<name> runs` and `<name> committed`.
 */
function request(
  manager: SessionManager,
  cookie: string,
  name: string,
  events: string[],
  options: { pause?: Promise<void>; change?: (session: Session) => void } = {},
): Step {
  const ran = deferred();
  let opened: Session | undefined;
  const done = (async () => {
    const session = await manager.open(cookie);
    opened = session;
    events.push(`${name} runs`);
    ran.resolve();
    if (options.pause !== undefined) await options.pause;
    if (options.change === undefined) {
      session.data.hits = Number(session.data.hits) + 1;
      session.data.by = [...(session.data.by as string[]), name];
    } else {
      options.change(session);
    }
    try {
      const setCookie = await manager.commit(session);
      events.push(`${name} committed`);
      return setCookie;
    } catch (error) {
      events.push(`${name} failed`);
      throw error;
    }
  })();
  // Tests check every outcome themselves; this only keeps a rejection from counting as unhandled before they do.
  done.catch(() => undefined);
  return { ran: ran.promise.then(() => opened as Session), done };
}

interface Setup {
  readonly gate: HoldingStore;
  readonly manager: SessionManager;
  readonly cookie: string;
  readonly events: string[];
  readonly inner: SessionStore;
  readonly close: () => Promise<void>;
}

async function setup(inner: SessionStore): Promise<Setup> {
  const gate = holdingStore(inner);
  const manager = createSessionManager({ store: gate.store, secret, lock, sweep: { background: false } });
  const cookie = await newCookie(manager, { hits: 0, by: [] });
  const events: string[] = [];
  gate.onAnswer = (label) => events.push(`write: ${label}`);
  gate.holding = true;
  return {
    gate,
    manager,
    cookie,
    events,
    inner,
    close: async () => {
      await manager.close();
      await inner.close();
    },
  };
}

/** What the store holds for the session now, read without any lock. */
async function stored(manager: SessionManager, cookie: string): Promise<Record<string, unknown>> {
  const session = await manager.open(cookie, { mode: 'readonly' });
  await manager.commit(session);
  return { ...session.data };
}

const stores: [string, () => SessionStore][] = [
  ['memory', () => createMemoryStore()],
  ['sqlite', () => createSqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'sessionlock-group-')), 's.db') })],
];

describe('group commit of local hand-offs', () => {
  for (const [storeName, makeStore] of stores) {
    it(`${storeName}: runs the next handler during the write, and writes the commits queued meanwhile in one write`, async () => {
      const { gate, manager, cookie, events, close } = await setup(makeStore());
      try {
        const a = request(manager, cookie, 'a', events);
        const b = request(manager, cookie, 'b', events);
        const c = request(manager, cookie, 'c', events);
        const first = await gate.nextWrite();
        assert.deepEqual(first.data, { hits: 1, by: ['a'] });
        assert.equal(first.op.kind === 'save' ? first.op.holdMs : undefined, 30_000, 'keeps the lease for the next holder');
        // b and c run, and commit, while a's write is still held.
        await b.ran;
        await c.ran;
        const bSession = await b.ran;
        assert.equal(bSession.data.hits, 2, 'b ran on what a commits');
        await sleep(0);
        assert.deepEqual(events, ['a runs', 'b runs', 'c runs']);
        assert.equal(gate.held.length, 1, 'one write in flight; b and c wait for it');
        await first.release();
        await a.done;
        assert.deepEqual(events.slice(3), ['write: save ok', 'a committed']);
        const second = await gate.nextWrite();
        assert.deepEqual(second.data, { hits: 3, by: ['a', 'b', 'c'] }, "one write carries b's and c's changes");
        assert.equal(second.op.kind === 'save' ? second.op.holdMs : 0, undefined, 'the last write of the chain releases the lease');
        await sleep(0);
        assert.equal(events.includes('b committed'), false, 'b resolves only after the write covering it');
        await second.release();
        await Promise.all([b.done, c.done]);
        assert.deepEqual(events.slice(5), ['write: save ok', 'b committed', 'c committed']);
        assert.equal(gate.held.length, 2);
        assert.equal(gate.maxInFlight, 1);
        gate.holding = false;
        assert.deepEqual(await stored(manager, cookie), { hits: 3, by: ['a', 'b', 'c'] });
        // The lease was released: a new request takes the session from the store at once.
        const d = request(manager, cookie, 'd', events);
        await d.done;
        assert.deepEqual(await stored(manager, cookie), { hits: 4, by: ['a', 'b', 'c', 'd'] });
      } finally {
        await close();
      }
    });
  }

  for (const failure of ['throws', 'answers lost'] as const) {
    it(`fails the commits of a write that ${failure}, and every later commit of the chain; the store keeps the last good write`, async () => {
      const { gate, manager, cookie, events, inner, close } = await setup(createMemoryStore());
      try {
        const dPause = deferred();
        const ePause = deferred();
        const a = request(manager, cookie, 'a', events);
        const b = request(manager, cookie, 'b', events);
        const c = request(manager, cookie, 'c', events);
        const d = request(manager, cookie, 'd', events, { pause: dPause.promise });
        const e = request(manager, cookie, 'e', events, { pause: ePause.promise });
        const f = request(manager, cookie, 'f', events);
        const first = await gate.nextWrite();
        await d.ran;
        await first.release();
        await a.done;
        // b and c queued during a's write: one write for both, keeping the lease for d.
        const second = await gate.nextWrite();
        assert.deepEqual(second.data, { hits: 3, by: ['a', 'b', 'c'] });
        // d commits while that write is held, and hands the session to e.
        dPause.resolve();
        await e.ran;
        assert.equal((await e.ran).data.hits, 4, 'e runs on what d commits');
        if (failure === 'throws') {
          second.fail(new Error('connection reset'));
          await assert.rejects(b.done, hasCode('ERR_SESSION_STORE'));
          await assert.rejects(c.done, hasCode('ERR_SESSION_STORE'));
        } else {
          // The lease lapsed and another process took it (and gave it back): the write is refused.
          await inner.write(second.key, second.guard, { kind: 'release' });
          second.answer({ status: 'lost' });
          await assert.rejects(b.done, hasCode('ERR_SESSION_LOCK_LOST', /lost to another request/));
          await assert.rejects(c.done, hasCode('ERR_SESSION_LOCK_LOST', /lost to another request/));
        }
        // d ran on c's unsaved data: it fails too, with the same kind of typed error (a store
        // outage stays a store error, answered 503), and is never written.
        const followerFailure = failure === 'throws' ? hasCode('ERR_SESSION_STORE') : hasCode('ERR_SESSION_LOCK_LOST', /lost the lock/);
        await assert.rejects(d.done, followerFailure);
        let release: Awaited<ReturnType<typeof gate.nextWrite>> | undefined;
        if (failure === 'throws') {
          // The failed write may have kept the lease: it is given back before anyone goes to the store.
          release = await gate.nextWrite();
          assert.equal(release.op.kind, 'release');
        }
        // e is still running on d's data: it fails at its commit, without a write.
        ePause.resolve();
        await assert.rejects(e.done, followerFailure);
        if (release !== undefined) {
          await sleep(0);
          assert.equal(events.includes('f runs'), false, 'f waits until the lease is settled');
          await release.release();
        }
        // f goes to the store, takes the lease there, and sees what a saved.
        const fSession = await f.ran;
        assert.deepEqual({ ...fSession.data }, { hits: 2, by: ['a', 'f'] });
        const last = await gate.nextWrite();
        assert.deepEqual(last.data, { hits: 2, by: ['a', 'f'] });
        await last.release();
        await f.done;
        assert.equal(gate.maxInFlight, 1);
        assert.equal(gate.held.length, failure === 'throws' ? 4 : 3, 'nothing of the failed chain was written after the failure');
        gate.holding = false;
        assert.deepEqual(await stored(manager, cookie), { hits: 2, by: ['a', 'f'] });
      } finally {
        await close();
      }
    });
  }

  it('orders a destroy in the middle of a chain after the write in flight', async () => {
    const { gate, manager, cookie, events, close } = await setup(createMemoryStore());
    try {
      const a = request(manager, cookie, 'a', events);
      const b = request(manager, cookie, 'b', events, { change: (session) => session.destroy() });
      const c = request(manager, cookie, 'c', events, { change: () => undefined });
      const first = await gate.nextWrite();
      await b.ran;
      await sleep(0);
      assert.equal(gate.held.length, 1, "the delete waits for a's write");
      assert.equal(events.includes('c runs'), false, 'the next request waits for the destroy');
      await first.release();
      const second = await gate.nextWrite();
      assert.equal(second.op.kind, 'delete');
      assert.equal(second.guard.kind === 'lease' && first.guard.kind === 'lease' && second.guard.token === first.guard.token, true);
      await second.release();
      assert.match((await b.done) ?? '', /Max-Age=0/);
      await a.done;
      // c went to the store after the delete and found no session.
      const cSession = await c.ran;
      assert.equal(cSession.isNew, true);
      gate.holding = false;
      await c.done;
      assert.equal(gate.maxInFlight, 1);
      const at = (event: string): number => events.indexOf(event);
      assert.ok(at('write: save ok') < at('a committed'));
      assert.ok(at('a committed') < at('write: delete ok'));
      assert.ok(at('write: delete ok') < at('b committed'));
    } finally {
      await close();
    }
  });

  it('orders the release of an aborted request after the write in flight', async () => {
    const { gate, manager, cookie, events, close } = await setup(createMemoryStore());
    try {
      const a = request(manager, cookie, 'a', events);
      const bSession = manager.open(cookie);
      const cPause = deferred();
      const c = request(manager, cookie, 'c', events, { pause: cPause.promise });
      const first = await gate.nextWrite();
      const aborted = manager.abort(await bSession);
      await sleep(0);
      assert.equal(gate.held.length, 1, "the release waits for a's write");
      await first.release();
      await a.done;
      const second = await gate.nextWrite();
      assert.equal(second.op.kind, 'release');
      await second.release();
      await aborted;
      // c went to the store after the release, and runs on what a saved.
      assert.deepEqual({ ...(await c.ran).data }, { hits: 1, by: ['a'] });
      gate.holding = false;
      cPause.resolve();
      await c.done;
      assert.deepEqual(await stored(manager, cookie), { hits: 2, by: ['a', 'c'] });
    } finally {
      await close();
    }
  });

  it('keeps renewing the lease of a handler that runs while its predecessor is still being written', async () => {
    // The store runs on a clock the test moves; the manager's renewals come from its own timer.
    let now = Date.now();
    const inner = createMemoryStore({ now: () => now });
    const gate = holdingStore(inner);
    const manager = createSessionManager({ store: gate.store, secret, lock: { leaseMs: 300 }, sweep: { background: false } });
    try {
      const cookie = await newCookie(manager, { hits: 0, by: [] });
      gate.holding = true;
      const events: string[] = [];
      const bPause = deferred();
      const a = request(manager, cookie, 'a', events);
      const b = request(manager, cookie, 'b', events, { pause: bPause.promise });
      // a took the lease at `now`, for 300 ms of the store's clock; its write is held.
      const first = await gate.nextWrite();
      await b.ran;
      now += 200;
      // The renewer's timer is unref'd: keep the process up until it fires.
      const keepAlive = setInterval(() => undefined, 1_000);
      const renewed = await gate.nextRenew();
      clearInterval(keepAlive);
      assert.equal(renewed, true, "b renews the chain's lease while a's write is in flight");
      now += 200;
      // Past a's lease, within b's renewal: nobody else can take the session.
      assert.equal((await inner.acquire(first.key, 'intruder', 300)).status, 'busy');
      await first.release();
      await a.done;
      bPause.resolve();
      const second = await gate.nextWrite();
      await second.release();
      await b.done;
      gate.holding = false;
      assert.deepEqual(await stored(manager, cookie), { hits: 2, by: ['a', 'b'] });
    } finally {
      await manager.close();
    }
  });
});
