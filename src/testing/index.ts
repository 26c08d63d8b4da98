/**
 * The store conformance suite: every promise a `SessionStore` must keep, as tests that
 * run against the real backend. It is not tied to a test runner: pass the `describe`
 * and `it` of node:test, Vitest, Mocha or Jest.
 *
 * @example
 * ```ts
 * import { describe, it } from 'node:test';
 * import { runStoreSuite } from 'sessionlock/testing';
 * import { createMyStore } from '../src/index.js';
 *
 * runStoreSuite({ name: 'my-store', createStore: () => createMyStore({ url: process.env.MY_URL }), test: { describe, it } });
 * ```
 *
 * @module
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createLeaseToken, createSessionId, storeKeyOf } from '../core/ids.js';
import { createSessionManager, type SessionManager } from '../core/manager.js';
import { isSessionError } from '../errors.js';
import type { SessionStore, StoredRecord } from '../stores/types.js';
import type { ChildTask } from './child.js';

/** The test-runner functions the suite needs; node:test, Vitest, Mocha and Jest all fit. */
export interface SuiteRunner {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => Promise<void>): unknown;
}

/** Options of `runStoreSuite`. */
export interface StoreSuiteOptions {
  /** Name shown in the test titles. */
  name: string;
  /** Makes a store on the backend under test. Called once per test; each test closes its store. */
  createStore: () => SessionStore | Promise<SessionStore>;
  /**
   * For stores whose capabilities say `crossProcess`: a module (path or URL) whose
   * default export creates the same store in a child process, and environment
   * variables the child needs. Without it the cross-process cases are reported as failures.
   */
  crossProcess?: { module: string; env?: Record<string, string> };
  /**
   * The store's expiry resolution, in ms: how late past `expiresAt` a record may still
   * be served. Stores that count whole seconds need about 1000. @default 50
   */
  expiryGranularityMs?: number;
  /** `describe` and `it` of your test runner. */
  test: SuiteRunner;
}

const SECRET = 'sessionlock-conformance-suite-secret';

function newKey(): string {
  return storeKeyOf(createSessionId());
}

async function createRecord(store: SessionStore, key: string, data: string, ttlMs = 60_000): Promise<StoredRecord> {
  const now = Date.now();
  const result = await store.write(key, { kind: 'create' }, { kind: 'save', data, expiresAt: now + ttlMs, createdAt: now });
  assert.equal(result.status, 'ok', 'create of a new record');
  return { data, createdAt: now, expiresAt: now + ttlMs, version: 1 };
}

async function newCookie(manager: SessionManager, data: Record<string, unknown>): Promise<string> {
  const session = await manager.open(undefined);
  Object.assign(session.data, data);
  const setCookie = await manager.commit(session);
  assert.ok(setCookie !== undefined, 'a new session with data sets a cookie');
  return setCookie.split(';')[0] as string;
}

function childCommand(module: string): { command: string; args: string[] } {
  const here = import.meta.url;
  const fromSource = here.endsWith('.ts');
  const child = fileURLToPath(new URL(fromSource ? './child.ts' : './child.js', here));
  const needsLoader = fromSource || /\.[cm]?ts$/.test(module);
  return { command: process.execPath, args: [...(needsLoader ? ['--import', 'tsx'] : []), child] };
}

interface RunningChild {
  readonly process: ChildProcess;
  /** Resolves with the first line whose `event` is `name`. */
  next(name: string): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

function startChild(options: StoreSuiteOptions, task: ChildTask): RunningChild {
  const { command, args } = childCommand(task.module);
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...options.crossProcess?.env, SESSIONLOCK_CHILD_TASK: JSON.stringify(task) },
  });
  const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
  const seen: Record<string, unknown>[] = [];
  const waiting: { name: string; resolve: (line: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  lines.on('line', (line) => {
    const message = JSON.parse(line) as Record<string, unknown>;
    if (message.event === 'error') {
      for (const w of waiting.splice(0)) w.reject(new Error(`child failed: ${String(message.message)}`));
    }
    seen.push(message);
    for (const w of [...waiting]) {
      if (message.event === w.name) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(message);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  exited.then(() => {
    for (const w of waiting.splice(0)) w.reject(new Error(`child exited before "${w.name}"`));
  }, () => undefined);
  return {
    process: child,
    exited,
    next(name) {
      const found = seen.find((line) => line.event === name);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => waiting.push({ name, resolve, reject }));
    },
  };
}

/**
 * Register the conformance tests for one store with your test runner.
 */
export function runStoreSuite(options: StoreSuiteOptions): void {
  const { describe, it } = options.test;
  const granularityMs = options.expiryGranularityMs ?? 50;

  /** Runs `body` with a fresh store, and closes it afterwards whatever happens. */
  const withStore = (body: (store: SessionStore) => Promise<void>) => async (): Promise<void> => {
    const store = await options.createStore();
    try {
      await body(store);
    } finally {
      await store.close();
    }
  };

  describe(`store conformance: ${options.name}`, () => {
    it('declares its capabilities as data', withStore(async (store) => {
      for (const flag of ['crossProcess', 'crossHost', 'nativeExpiry', 'notifications'] as const) {
        assert.equal(typeof store.capabilities[flag], 'boolean', flag);
      }
      assert.equal(store.capabilities.nativeExpiry || typeof store.sweep === 'function', true, 'a store without native expiry can sweep');
      assert.equal(!store.capabilities.notifications || typeof store.waitForRelease === 'function', true);
    }));

    it('round-trips a record through create, acquire, save and read', withStore(async (store) => {
      const key = newKey();
      const created = await createRecord(store, key, '{"a":1}');
      const token = createLeaseToken();
      const acquired = await store.acquire(key, token, 5_000);
      assert.equal(acquired.status, 'acquired');
      if (acquired.status !== 'acquired') return;
      assert.deepEqual(acquired.record, created);
      assert.equal(acquired.lease.token, token);
      const saved = await store.write(key, { kind: 'lease', token }, { kind: 'save', data: '{"a":2}', expiresAt: created.expiresAt + 1000 });
      assert.equal(saved.status, 'ok');
      assert.equal(saved.status === 'ok' ? saved.version : undefined, 2);
      assert.deepEqual(await store.read(key), { ...created, data: '{"a":2}', expiresAt: created.expiresAt + 1000, version: 2 });
      // The save released the lease: a new acquire succeeds at once.
      assert.equal((await store.acquire(key, createLeaseToken(), 5_000)).status, 'acquired');
    }));

    it('answers null / missing for a record that does not exist', withStore(async (store) => {
      const key = newKey();
      assert.equal(await store.read(key), null);
      assert.deepEqual(await store.acquire(key, createLeaseToken(), 1_000), { status: 'missing' });
      assert.equal(await store.renew(key, createLeaseToken(), 1_000), false);
      const touched = await store.write(key, { kind: 'exists' }, { kind: 'save', data: undefined, expiresAt: Date.now() + 1000 });
      assert.equal(touched.status, 'gone', 'a touch never creates a record');
      assert.equal(await store.read(key), null);
    }));

    it('refuses to create a record twice', withStore(async (store) => {
      const key = newKey();
      await createRecord(store, key, '{"first":true}');
      const again = await store.write(key, { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: Date.now() + 1000, createdAt: Date.now() });
      assert.equal(again.status, 'conflict');
      assert.equal((await store.read(key))?.data, '{"first":true}');
    }));

    it('never serves an expired record, before any sweep', withStore(async (store) => {
      const key = newKey();
      await createRecord(store, key, '{"x":1}', granularityMs * 2);
      assert.notEqual(await store.read(key), null);
      // Sleep past the expiry plus the store's resolution; nothing else can make time pass.
      await sleep(granularityMs * 3 + 20);
      assert.equal(await store.read(key), null);
      assert.deepEqual(await store.acquire(key, createLeaseToken(), 1_000), { status: 'missing' });
    }));

    it('keeps data and version on a touch', withStore(async (store) => {
      const key = newKey();
      const created = await createRecord(store, key, '{"keep":1}');
      const later = created.expiresAt + 30_000;
      const touched = await store.write(key, { kind: 'exists' }, { kind: 'save', data: undefined, expiresAt: later });
      assert.equal(touched.status, 'ok');
      assert.deepEqual(await store.read(key), { ...created, expiresAt: later });
      const token = createLeaseToken();
      assert.equal((await store.acquire(key, token, 5_000)).status, 'acquired');
      const leasedTouch = await store.write(key, { kind: 'lease', token }, { kind: 'save', data: undefined, expiresAt: later + 1 });
      assert.equal(leasedTouch.status, 'ok');
      assert.deepEqual(await store.read(key), { ...created, expiresAt: later + 1 });
    }));

    it('lets one holder at a time take the lease', withStore(async (store) => {
      const key = newKey();
      await createRecord(store, key, '{}');
      const first = createLeaseToken();
      assert.equal((await store.acquire(key, first, 10_000)).status, 'acquired');
      const waiting = createLeaseToken();
      const second = await store.acquire(key, waiting, 10_000);
      assert.equal(second.status, 'busy');
      assert.equal(await store.renew(key, first, 10_000), true);
      assert.equal((await store.write(key, { kind: 'lease', token: first }, { kind: 'release' })).status, 'ok');
      // The waiter tries again with its own token: a store may have handed the lease over to it.
      assert.equal((await store.acquire(key, waiting, 10_000)).status, 'acquired');
      assert.equal((await store.acquire(key, createLeaseToken(), 10_000)).status, 'busy');
    }));

    it('loses no increment among many overlapping requests in one process', withStore(async (store) => {
      // Four managers share the store, as four processes would: their in-process queues
      // do not see each other, so only the store's lease keeps them apart.
      const managers = Array.from({ length: 4 }, () => createSessionManager({ store, secret: SECRET }));
      const [first] = managers as [SessionManager];
      const cookie = await newCookie(first, { hits: 0 });
      const perManager = 40;
      await Promise.all(
        managers.flatMap((manager) =>
          Array.from({ length: perManager }, async () => {
            const session = await manager.open(cookie);
            const hits = Number(session.data.hits);
            await sleep(Math.random() * 3);
            session.data.hits = hits + 1;
            await manager.commit(session);
          }),
        ),
      );
      const final = await first.open(cookie, { mode: 'readonly' });
      assert.equal(final.data.hits, managers.length * perManager);
    }));

    it('loses no increment among several processes', withStore(async (store) => {
      assert.ok(store.capabilities.crossProcess || options.crossProcess === undefined, 'a store that is not crossProcess needs no child module');
      if (!store.capabilities.crossProcess) return;
      const crossProcess = options.crossProcess;
      assert.ok(crossProcess !== undefined, 'the store declares crossProcess: pass options.crossProcess so the suite can check it');
      const manager = createSessionManager({ store, secret: SECRET });
      const cookie = await newCookie(manager, { hits: 0 });
      const children = 4;
      const parallel = 5;
      const count = 10;
      const running = Array.from({ length: children }, () =>
        startChild(options, { kind: 'increment', module: crossProcess.module, cookie, secret: SECRET, count, parallel, maxDelayMs: 2 }),
      );
      await Promise.all(running.map((child) => child.next('done')));
      assert.deepEqual(await Promise.all(running.map((child) => child.exited)), running.map(() => 0));
      const final = await manager.open(cookie, { mode: 'readonly' });
      assert.equal(final.data.hits, children * parallel * count);
    }));

    it('recovers a session whose holder was killed with SIGKILL', withStore(async (store) => {
      if (!store.capabilities.crossProcess) return;
      const crossProcess = options.crossProcess;
      assert.ok(crossProcess !== undefined, 'the store declares crossProcess: pass options.crossProcess');
      const manager = createSessionManager({ store, secret: SECRET, lock: { waitMs: 20_000 } });
      const cookie = await newCookie(manager, { hits: 7 });
      const id = /^sid=s1\.([^.]+)\./.exec(cookie)?.[1] as string;
      const leaseMs = 800;
      const child = startChild(options, { kind: 'hold', module: crossProcess.module, key: storeKeyOf(id), leaseMs });
      assert.equal((await child.next('held')).status, 'acquired');
      child.process.kill('SIGKILL');
      await child.exited;
      const startedAt = Date.now();
      const session = await manager.open(cookie);
      const waitedMs = Date.now() - startedAt;
      assert.equal(session.data.hits, 7);
      assert.ok(waitedMs <= 20_000);
      await manager.commit(session);
    }));

    it('times out a wait with LockTimeoutError and leaves the holder alone', withStore(async (store) => {
      const manager = createSessionManager({ store, secret: SECRET, lock: { waitMs: 150 } });
      const cookie = await newCookie(manager, { n: 1 });
      const holder = await manager.open(cookie);
      await assert.rejects(
        createSessionManager({ store, secret: SECRET, lock: { waitMs: 150 } }).open(cookie),
        (error: unknown) => isSessionError(error) && error.code === 'ERR_SESSION_LOCK_TIMEOUT',
      );
      await assert.rejects(manager.open(cookie), (error: unknown) => isSessionError(error) && error.code === 'ERR_SESSION_LOCK_TIMEOUT');
      holder.data.n = 2;
      await manager.commit(holder);
      assert.equal((await manager.open(cookie, { mode: 'readonly' })).data.n, 2);
    }));

    it('fences a holder whose lease lapsed and was taken over', withStore(async (store) => {
      const key = newKey();
      await createRecord(store, key, '{"owner":"none"}');
      const stale = createLeaseToken();
      assert.equal((await store.acquire(key, stale, 100)).status, 'acquired');
      await sleep(200 + granularityMs);
      const fresh = createLeaseToken();
      assert.equal((await store.acquire(key, fresh, 10_000)).status, 'acquired');
      assert.equal(await store.renew(key, stale, 10_000), false);
      const late = await store.write(key, { kind: 'lease', token: stale }, { kind: 'save', data: '{"owner":"stale"}', expiresAt: Date.now() + 60_000 });
      assert.equal(late.status, 'lost');
      const lateDelete = await store.write(key, { kind: 'lease', token: stale }, { kind: 'delete' });
      assert.equal(lateDelete.status, 'lost');
      const saved = await store.write(key, { kind: 'lease', token: fresh }, { kind: 'save', data: '{"owner":"fresh"}', expiresAt: Date.now() + 60_000 });
      assert.equal(saved.status, 'ok');
      assert.equal((await store.read(key))?.data, '{"owner":"fresh"}');
    }));

    it('refuses an optimistic write after a change or under a live lease', withStore(async (store) => {
      const key = newKey();
      await createRecord(store, key, '{"v":1}');
      const moved = await store.write(key, { kind: 'version', version: 1 }, { kind: 'save', data: '{"v":2}', expiresAt: Date.now() + 60_000 });
      assert.equal(moved.status, 'ok');
      const stale = await store.write(key, { kind: 'version', version: 1 }, { kind: 'save', data: '{"v":"stale"}', expiresAt: Date.now() + 60_000 });
      assert.equal(stale.status, 'conflict');
      const token = createLeaseToken();
      assert.equal((await store.acquire(key, token, 10_000)).status, 'acquired');
      const underLease = await store.write(key, { kind: 'version', version: 2 }, { kind: 'save', data: '{"v":"sneaky"}', expiresAt: Date.now() + 60_000 });
      assert.equal(underLease.status, 'conflict');
      assert.equal((await store.read(key))?.data, '{"v":2}');
    }));

    it('serves readonly requests at once while the session is locked', withStore(async (store) => {
      const manager = createSessionManager({ store, secret: SECRET });
      const cookie = await newCookie(manager, { seen: 'yes' });
      const holder = await manager.open(cookie);
      const reader = await createSessionManager({ store, secret: SECRET }).open(cookie, { mode: 'readonly' });
      // The holder has not committed yet: reaching this line proves the reader did not wait.
      assert.equal(reader.data.seen, 'yes');
      assert.throws(() => {
        reader.data.seen = 'no';
      }, (error: unknown) => isSessionError(error) && error.code === 'ERR_SESSION_STATE');
      await manager.commit(holder);
    }));

    it('never brings a destroyed session back', withStore(async (store) => {
      const key = newKey();
      await createRecord(store, key, '{}');
      const token = createLeaseToken();
      assert.equal((await store.acquire(key, token, 10_000)).status, 'acquired');
      assert.equal((await store.write(key, { kind: 'lease', token }, { kind: 'delete' })).status, 'ok');
      const after = { kind: 'save', data: '{"back":true}', expiresAt: Date.now() + 60_000 } as const;
      assert.equal((await store.write(key, { kind: 'lease', token }, after)).status, 'gone');
      assert.equal((await store.write(key, { kind: 'version', version: 1 }, after)).status, 'gone');
      assert.equal((await store.write(key, { kind: 'exists' }, after)).status, 'gone');
      assert.equal(await store.read(key), null);
    }));

    it('sweeps only records expired beyond the grace period and not leased', withStore(async (store) => {
      if (store.sweep === undefined) return;
      const now = Date.now();
      const longExpired = newKey();
      const recentlyExpired = newKey();
      const live = newKey();
      const leasedExpired = newKey();
      const graceMs = 60_000;
      const put = (key: string, expiresAt: number) =>
        store.write(key, { kind: 'create' }, { kind: 'save', data: '{}', expiresAt, createdAt: now - 200_000 });
      await put(longExpired, now - 120_000);
      await put(recentlyExpired, now - 10_000);
      await put(live, now + 60_000);
      await put(leasedExpired, now + 60_000);
      const token = createLeaseToken();
      assert.equal((await store.acquire(leasedExpired, token, 60_000)).status, 'acquired');
      // Expire the leased record while its holder keeps the lease: the holder may still save it.
      await store.write(leasedExpired, { kind: 'lease', token }, { kind: 'save', data: undefined, expiresAt: now - 120_000, holdMs: 60_000 });
      let deleted = 0;
      for (let batch = 0; batch < 1000; batch += 1) {
        const result = await store.sweep({ graceMs, limit: 100 });
        deleted += result.deleted;
        if (!result.more) break;
      }
      assert.ok(deleted >= 1, 'the long-expired record was removed');
      const probe = createLeaseToken();
      assert.deepEqual(await store.acquire(longExpired, probe, 1000), { status: 'missing' });
      assert.equal((await store.write(longExpired, { kind: 'exists' }, { kind: 'delete' })).status, 'gone');
      // The recently expired record is still there: a create must conflict with it.
      assert.equal((await store.write(recentlyExpired, { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: now + 1000, createdAt: now })).status, 'conflict');
      assert.notEqual(await store.read(live), null);
      const saved = await store.write(leasedExpired, { kind: 'lease', token }, { kind: 'save', data: '{"kept":true}', expiresAt: Date.now() + 60_000 });
      assert.equal(saved.status, 'ok', 'the leased record survived the sweep');
    }));
  });
}
