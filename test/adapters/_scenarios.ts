/**
 * One scenario suite for every framework adapter, run on a real server at a random
 * loopback port. Each adapter's test file supplies `start`, which serves these routes:
 *
 * - `GET /hit`      exclusive: `hits += 1`, answers the new count
 * - `GET /peek`     read-only: answers `hits` (0 when absent), never waits or writes
 * - `GET /noop`     opens the session and leaves it alone, answers `ok`
 * - `GET /login`    regenerates the session, sets `user = 'ada'`, answers `ok`
 * - `GET /logout`   destroys the session, answers `ok`
 * - `GET /redirect` sets `flag = 'set'` and answers 302 to `/peek`
 * - `GET /hold`     exclusive: sets `held = true`, awaits `setup.onHold()`, answers `ok`
 */
import assert from 'node:assert/strict';
import type { describe as Describe, it as It } from 'node:test';
import { createMemoryStore } from '../../src/stores/memory.js';
import type { SessionStore, WriteGuard, WriteOp } from '../../src/stores/types.js';

/** What a scenario gives the app it starts. */
export interface ScenarioSetup {
  /** The store the adapter's manager must use. */
  readonly store: SessionStore;
  /** The cookie secret. */
  readonly secret: string;
  /** `lock.waitMs` for the manager. */
  readonly waitMs: number;
  /** Awaited by `GET /hold` while it holds the session. */
  readonly onHold: () => Promise<void>;
}

/** A running app. */
export interface ScenarioApp {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts an app serving the routes above on a random loopback port. */
export type StartApp = (setup: ScenarioSetup) => Promise<ScenarioApp>;

/** A store wrapper that records calls and can slow writes down. */
interface RecordingStore {
  readonly store: SessionStore;
  readonly calls: Record<string, number>;
  /** Kinds of the writes made, with `unlock` for a save that changes nothing but the lease. */
  readonly writes: (WriteOp['kind'] | 'unlock')[];
  /** Writes that have finished (resolved), for ordering checks without clocks. */
  writesDone: number;
  reset(): void;
}

function recordingStore(inner: SessionStore, writeDelayMs = 0): RecordingStore {
  const recorder: RecordingStore = {
    calls: {},
    writes: [],
    writesDone: 0,
    store: undefined as unknown as SessionStore,
    reset() {
      for (const key of Object.keys(recorder.calls)) Reflect.deleteProperty(recorder.calls, key);
      recorder.writes.length = 0;
    },
  };
  const count = (name: string): void => {
    recorder.calls[name] = (recorder.calls[name] ?? 0) + 1;
  };
  Object.assign(recorder, {
    store: {
      name: inner.name,
      capabilities: inner.capabilities,
      acquire: (key: string, token: string, leaseMs: number) => (count('acquire'), inner.acquire(key, token, leaseMs)),
      read: (key: string) => (count('read'), inner.read(key)),
      renew: (key: string, token: string, leaseMs: number) => (count('renew'), inner.renew(key, token, leaseMs)),
      write: async (key: string, guard: WriteGuard, op: WriteOp) => {
        count('write');
        const unlock = op.kind === 'save' && op.data === undefined && op.expiresAt === undefined;
        recorder.writes.push(unlock ? 'unlock' : op.kind);
        // A slow backend, to show the response waits for the save.
        if (writeDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, writeDelayMs));
        const result = await inner.write(key, guard, op);
        recorder.writesDone += 1;
        return result;
      },
      close: () => inner.close(),
    } satisfies SessionStore,
  });
  return recorder;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** The `name=value` pair of the first Set-Cookie, or undefined. */
function cookieOf(response: Response): string | undefined {
  return response.headers.getSetCookie()[0]?.split(';')[0];
}

async function get(app: ScenarioApp, path: string, cookie?: string): Promise<Response> {
  return fetch(new URL(path, app.url), { redirect: 'manual', headers: cookie === undefined ? {} : { cookie } });
}

async function text(app: ScenarioApp, path: string, cookie?: string): Promise<string> {
  const response = await get(app, path, cookie);
  assert.equal(response.status, 200, `${path} answered ${response.status}`);
  return response.text();
}

interface Options {
  readonly name: string;
  readonly start: StartApp;
  readonly test: { describe: typeof Describe; it: typeof It };
}

/** Runs every scenario against one adapter. */
export function runAdapterScenarios({ name, start, test: { describe, it } }: Options): void {
  async function withApp(
    body: (app: ScenarioApp, recorder: RecordingStore) => Promise<void>,
    extra: { writeDelayMs?: number; waitMs?: number; onHold?: () => Promise<void> } = {},
  ): Promise<void> {
    const recorder = recordingStore(createMemoryStore(), extra.writeDelayMs);
    const app = await start({
      store: recorder.store,
      secret: 'scenario-secret',
      waitMs: extra.waitMs ?? 10_000,
      onHold: extra.onHold ?? (() => Promise.resolve()),
    });
    try {
      await body(app, recorder);
    } finally {
      await app.close();
    }
  }

  describe(`${name} adapter scenarios`, () => {
    it('sets a signed HttpOnly cookie for a new session and keeps counting on it', () =>
      withApp(async (app) => {
        const first = await get(app, '/hit');
        assert.equal(await first.text(), '1');
        const setCookie = first.headers.getSetCookie()[0] ?? '';
        assert.match(setCookie, /HttpOnly/i);
        const cookie = cookieOf(first);
        assert.ok(cookie !== undefined && cookie.split('=')[1] !== '', 'a cookie value');
        assert.equal(await text(app, '/hit', cookie), '2');
        assert.equal(await text(app, '/peek', cookie), '2');
      }));

    it('writes nothing but the unlock and sends no Set-Cookie for an untouched session', () =>
      withApp(async (app, recorder) => {
        const anonymous = await get(app, '/noop');
        assert.equal(await anonymous.text(), 'ok');
        assert.equal(anonymous.headers.getSetCookie().length, 0, 'no cookie for an empty new session');
        assert.deepEqual(recorder.calls, {}, 'no store call without a cookie');
        const cookie = cookieOf(await get(app, '/hit'));
        recorder.reset();
        for (const path of ['/noop', '/peek']) {
          const response = await get(app, path, cookie);
          await response.text();
          assert.equal(response.headers.getSetCookie().length, 0, `no Set-Cookie from ${path}`);
        }
        // An exclusive request must give its lease back: that one write changes no data.
        assert.deepEqual(
          recorder.writes.filter((kind) => kind !== 'unlock' && kind !== 'release'),
          [],
          'no data written',
        );
      }));

    it('regenerate() rotates the id and deletes the old record', () =>
      withApp(async (app, recorder) => {
        const before = cookieOf(await get(app, '/hit'));
        recorder.reset();
        const login = await get(app, '/login', before);
        assert.equal(await login.text(), 'ok');
        const after = cookieOf(login);
        assert.ok(after !== undefined && after !== before, 'a new cookie');
        assert.ok(recorder.writes.includes('delete'), 'the old record is deleted');
        assert.equal(await text(app, '/peek', before), '0', 'the old id no longer loads');
        const hits = Number(await text(app, '/peek', after));
        assert.equal(await text(app, '/hit', after), String(hits + 1), 'the new session works');
      }));

    it('destroy() removes the session and expires the cookie', () =>
      withApp(async (app) => {
        const cookie = cookieOf(await get(app, '/hit'));
        const logout = await get(app, '/logout', cookie);
        assert.equal(await logout.text(), 'ok');
        const setCookie = logout.headers.getSetCookie()[0] ?? '';
        assert.match(setCookie, /Expires=Thu, 01 Jan 1970|Max-Age=0/i);
        assert.equal(await text(app, '/peek', cookie), '0');
      }));

    it('loses none of 500 overlapping increments on one cookie in exclusive mode', () =>
      withApp(async (app) => {
        const cookie = cookieOf(await get(app, '/hit'));
        const total = 500;
        const inFlight = 50;
        let started = 0;
        const worker = async (): Promise<void> => {
          while (started < total) {
            started += 1;
            await text(app, '/hit', cookie);
          }
        };
        await Promise.all(Array.from({ length: inFlight }, worker));
        assert.equal(await text(app, '/peek', cookie), String(total + 1));
      }));

    it('gives a tampered cookie a fresh anonymous session without an error', () =>
      withApp(async (app) => {
        const cookie = cookieOf(await get(app, '/hit')) as string;
        // Change a character well inside the signature (the last base64 character carries padding bits).
        const at = cookie.length - 10;
        const tampered = cookie.slice(0, at) + (cookie[at] === 'A' ? 'B' : 'A') + cookie.slice(at + 1);
        assert.equal(await text(app, '/peek', tampered), '0');
        const hit = await get(app, '/hit', tampered);
        assert.equal(await hit.text(), '1');
        assert.notEqual(cookieOf(hit), cookie);
      }));

    it('finishes the save before a redirect reaches the browser', () =>
      withApp(
        async (app, recorder) => {
          const response = await get(app, '/redirect');
          // Headers have arrived: the slow write must already have resolved.
          assert.equal(recorder.writesDone, 1, 'the write resolved before the response');
          assert.equal(response.status, 302);
          assert.equal(await text(app, '/peek', cookieOf(response)), '0');
        },
        { writeDelayMs: 150 },
      ));

    it('answers 503 with Retry-After when the lock wait times out', async () => {
      const entered = deferred();
      const release = deferred();
      await withApp(
        async (app) => {
          const cookie = cookieOf(await get(app, '/hit'));
          const holding = get(app, '/hold', cookie);
          await entered.promise;
          const busy = await get(app, '/hit', cookie);
          await busy.text();
          assert.equal(busy.status, 503);
          assert.equal(busy.headers.get('retry-after'), '1');
          assert.equal(await text(app, '/peek', cookie), '1', 'a read-only request does not wait');
          release.resolve();
          assert.equal((await holding).status, 200);
          assert.equal(await text(app, '/hit', cookie), '2');
        },
        {
          waitMs: 100,
          onHold: async () => {
            entered.resolve();
            await release.promise;
          },
        },
      );
    });
  });
}
