/**
 * express-session compatibility of `sessionlock/express`: exports, options and their
 * defaults, the `req.session` API, the cookie format (cookies issued by express-session
 * itself stay valid), and express-session stores (its MemoryStore, memorystore,
 * session-file-store) including the `Store.call(this)` / `util.inherits` pattern.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { ServerResponse, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inherits } from 'node:util';
import signature from 'cookie-signature';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import expressSession from 'express-session';
import createMemoryStoreClass from 'memorystore';
import createFileStoreClass from 'session-file-store';
import session, { Cookie, MemoryStore, Session, Store, type ExpressSessionOptions } from '../../src/adapters/express.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { listen } from './_apps/_listen.js';
import type { ScenarioApp } from './_scenarios.js';

const secret = 'keyboard cat';
type Fields = Record<string, unknown> & {
  id: string;
  cookie: InstanceType<typeof Cookie>;
  regenerate(cb: (error?: unknown) => void): void;
  destroy(cb: (error?: unknown) => void): void;
  reload(cb: (error?: unknown) => void): void;
  save(cb?: (error?: unknown) => void): void;
  touch(): void;
};
type SessionReq = Request & { session: Fields; sessionID: string; sessionStore: unknown };

/** Serves routes on Express 5 behind `middleware`; answers the app URL. */
async function serve(
  middleware: RequestHandler,
  routes: (app: express.Express) => void,
): Promise<ScenarioApp> {
  const app = express();
  app.use(middleware);
  routes(app);
  app.use((error: { status?: number; headers?: Record<string, string>; message: string }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    res.status(error.status ?? 500).set(error.headers ?? {}).send(`error: ${error.message}`);
  });
  return listen(createServer(app));
}

function ours(options: ExpressSessionOptions): RequestHandler {
  return session({ secret, resave: false, saveUninitialized: false, sweep: false, ...options });
}

const counter = (app: express.Express): void => {
  app.get('/views', (req, res) => {
    const s = (req as SessionReq).session;
    s.views = Number(s.views ?? 0) + 1;
    res.send(String(s.views));
  });
};

function cookieOf(response: globalThis.Response): string | undefined {
  return response.headers.getSetCookie()[0]?.split(';')[0];
}

async function get(app: ScenarioApp, path: string, cookie?: string, headers: Record<string, string> = {}) {
  return fetch(new URL(path, app.url), { redirect: 'manual', headers: { ...headers, ...(cookie ? { cookie } : {}) } });
}

async function body(app: ScenarioApp, path: string, cookie?: string): Promise<string> {
  return (await get(app, path, cookie)).text();
}

describe('sessionlock/express: exports', () => {
  it('exports the middleware factory with Store, MemoryStore, Session and Cookie on it', () => {
    assert.equal(typeof session, 'function');
    assert.equal(session.Store, Store);
    assert.equal(session.MemoryStore, MemoryStore);
    assert.equal(session.Session, Session);
    assert.equal(session.Cookie, Cookie);
    assert.ok(new MemoryStore() instanceof Store);
  });

  it('stores and serializes the cookie exactly as express-session does', () => {
    const cases = [
      {},
      { maxAge: 60_000, secure: true, sameSite: 'strict' as const, domain: 'example.test', path: '/app' },
      { httpOnly: false, partitioned: true, priority: 'high' as const, sameSite: true },
    ];
    for (const options of cases) {
      const mine = new Cookie(options);
      // @types/express-session types Cookie without its constructor argument and serialize().
      const ExpressCookie = expressSession.Cookie as unknown as new (o: object) => InstanceType<typeof Cookie>;
      const theirs = new ExpressCookie(options);
      // The same instant for both expiries, then the same stored JSON and Set-Cookie.
      if (theirs.expires instanceof Date) mine.expires = new Date(theirs.expires.valueOf());
      mine.originalMaxAge = theirs.originalMaxAge;
      assert.equal(JSON.stringify(mine), JSON.stringify(theirs));
      assert.equal(mine.serialize('connect.sid', 'v'), theirs.serialize('connect.sid', 'v'));
    }
  });

  it('lets function-style stores inherit with Store.call(this) and util.inherits', async () => {
    interface Legacy {
      data: Map<string, string>;
    }
    function LegacyStore(this: Legacy & InstanceType<typeof Store>) {
      Store.call(this);
      this.data = new Map();
    }
    inherits(LegacyStore, Store);
    Object.assign(LegacyStore.prototype, {
      get(this: Legacy, sid: string, cb: (e: unknown, s?: unknown) => void) {
        const text = this.data.get(sid);
        setImmediate(cb, null, text === undefined ? undefined : JSON.parse(text));
      },
      set(this: Legacy, sid: string, s: unknown, cb: () => void) {
        this.data.set(sid, JSON.stringify(s));
        setImmediate(cb);
      },
      destroy(this: Legacy, sid: string, cb: () => void) {
        this.data.delete(sid);
        setImmediate(cb);
      },
    });
    const store = new (LegacyStore as unknown as new () => Legacy & InstanceType<typeof Store>)();
    assert.ok(store instanceof Store);
    assert.equal(typeof store.on, 'function', 'an EventEmitter');
    const app = await serve(ours({ store: store as never }), counter);
    try {
      const cookie = cookieOf(await get(app, '/views'));
      assert.equal(await body(app, '/views', cookie), '2');
      assert.equal(store.data.size, 1, 'stored under the raw id, as express-session does');
      const sid = decodeURIComponent((cookie as string).split('=')[1] as string).slice(2).split('.')[0] as string;
      assert.ok(store.data.has(sid));
      // Store.prototype.load, used by socket.io-style code, still works.
      const loaded = await new Promise<Fields | undefined>((resolve, reject) =>
        store.load(sid, (e, s) => (e ? reject(e) : resolve(s as unknown as Fields))),
      );
      assert.equal(loaded?.views, 2);
      assert.ok(loaded?.cookie instanceof Cookie);
    } finally {
      await app.close();
    }
  });

  it('works with third-party stores built on session.Store (memorystore, session-file-store)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sessionlock-fstore-'));
    const MemoryStoreClass = createMemoryStoreClass(session as never);
    const FileStoreClass = createFileStoreClass(session as never);
    const stores = [
      new MemoryStoreClass({ checkPeriod: 0 }),
      new FileStoreClass({ path: dir, logFn: () => undefined }),
    ];
    try {
      for (const store of stores) {
        assert.ok(store instanceof Store);
        const app = await serve(ours({ store: store as never }), counter);
        try {
          const cookie = cookieOf(await get(app, '/views'));
          assert.equal(await body(app, '/views', cookie), '2');
          assert.equal(await body(app, '/views', cookie), '3');
        } finally {
          await app.close();
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('sessionlock/express: options and defaults', () => {
  it('validates options as express-session does', () => {
    assert.throws(() => session({ secret, genid: 'x' as never }), TypeError);
    assert.throws(() => session({ secret, unset: 'drop' as never }), TypeError);
    assert.throws(() => session({ secret: [] }), TypeError);
  });

  it('defaults to connect.sid, Path=/, HttpOnly, a browser-session cookie, resave and saveUninitialized true', async () => {
    const app = await serve(session({ secret, sweep: false }), (a) =>
      a.get('/', (_req, res) => {
        res.send('ok');
      }),
    );
    try {
      const response = await get(app, '/');
      const setCookie = response.headers.getSetCookie()[0] ?? '';
      assert.match(setCookie, /^connect\.sid=s%3A[^;]+; Path=\/; HttpOnly$/, 'saveUninitialized: an untouched new session is stored');
    } finally {
      await app.close();
    }
  });

  it('signs cookies exactly as express-session does (cookie-signature, s: prefix)', async () => {
    const app = await serve(ours({ genid: () => 'fixed-id-1' }), counter);
    try {
      const cookie = cookieOf(await get(app, '/views')) as string;
      assert.equal(decodeURIComponent(cookie.split('=')[1] as string), `s:${signature.sign('fixed-id-1', secret)}`);
    } finally {
      await app.close();
    }
  });

  it('keeps cookies issued by express-session valid, and the reverse, on the same store', async () => {
    const store = new expressSession.MemoryStore();
    const theirs = await serve(expressSession({ secret, store, resave: false, saveUninitialized: false }), counter);
    const mine = await serve(ours({ store: store as never }), counter);
    try {
      const cookie = cookieOf(await get(theirs, '/views'));
      assert.equal(await body(mine, '/views', cookie), '2', 'express-session cookie read by sessionlock');
      assert.equal(await body(theirs, '/views', cookie), '3', 'and back');
      const fresh = cookieOf(await get(mine, '/views'));
      assert.equal(await body(theirs, '/views', fresh), '2', 'sessionlock cookie read by express-session');
    } finally {
      await theirs.close();
      await mine.close();
    }
  });

  it('accepts any of several secrets and signs with the first (rotation)', async () => {
    const store = new MemoryStore();
    const a = await serve(ours({ secret: 'old', store }), counter);
    const b = await serve(ours({ secret: ['new', 'old'], store, rolling: true }), counter);
    try {
      const cookie = cookieOf(await get(a, '/views'));
      const response = await get(b, '/views', cookie);
      assert.equal(await response.text(), '2');
      const resigned = decodeURIComponent((cookieOf(response) as string).split('=')[1] as string);
      assert.equal(signature.unsign(resigned.slice(2), 'new') !== false, true, 'signed with the first secret');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('uses genid, name, cookie.maxAge, rolling, secure and proxy like express-session', async () => {
    let n = 0;
    const app = await serve(
      ours({ name: 'sid', genid: () => `id-${(n += 1)}`, cookie: { maxAge: 60_000 }, rolling: true, proxy: true }),
      counter,
    );
    try {
      const first = await get(app, '/views');
      const setCookie = first.headers.getSetCookie()[0] ?? '';
      assert.match(setCookie, /^sid=s%3Aid-1\./);
      assert.match(setCookie, /Expires=/);
      const cookie = cookieOf(first);
      const again = await get(app, '/views', cookie);
      assert.equal(again.headers.getSetCookie().length, 1, 'rolling sends the cookie every time');
    } finally {
      await app.close();
    }
    const secureApp = await serve(ours({ cookie: { secure: true }, proxy: true }), counter);
    try {
      assert.equal((await get(secureApp, '/views')).headers.getSetCookie().length, 0, 'no Secure cookie over http');
      const https = await get(secureApp, '/views', undefined, { 'x-forwarded-proto': 'https' });
      assert.match(https.headers.getSetCookie()[0] ?? '', /; Secure/);
    } finally {
      await secureApp.close();
    }
  });

  it("with unset: 'destroy', req.session = null removes the stored session", async () => {
    const store = new MemoryStore();
    const app = await serve(ours({ store, unset: 'destroy' }), (a) => {
      counter(a);
      a.get('/drop', (req, res) => {
        (req as unknown as { session: null }).session = null;
        res.send('ok');
      });
    });
    try {
      const cookie = cookieOf(await get(app, '/views'));
      assert.equal(Object.keys(store.sessions).length, 1);
      await body(app, '/drop', cookie);
      assert.equal(Object.keys(store.sessions).length, 0);
    } finally {
      await app.close();
    }
  });
});

describe('sessionlock/express: the req.session API', () => {
  it('exposes req.sessionID, req.session.id, req.sessionStore and req.session.cookie', async () => {
    const store = new MemoryStore();
    const app = await serve(ours({ store }), (a) =>
      a.get('/', (req, res) => {
        const r = req as SessionReq;
        r.session.seen = true;
        res.json({
          same: r.sessionID === r.session.id,
          store: (r.sessionStore as unknown) === store,
          cookie: r.session.cookie instanceof Cookie && r.session.cookie.path === '/',
        });
      }),
    );
    try {
      assert.deepEqual(await (await get(app, '/')).json(), { same: true, store: true, cookie: true });
    } finally {
      await app.close();
    }
  });

  it('regenerate(cb) gives a new, empty session under a new id; destroy(cb) removes it', async () => {
    const store = new MemoryStore();
    const app = await serve(ours({ store }), (a) => {
      counter(a);
      a.get('/login', (req, res, next) => {
        const r = req as SessionReq;
        const before = r.sessionID;
        r.session.regenerate((error) => {
          if (error) return next(error);
          const empty = r.session.views === undefined;
          r.session.user = 'ada';
          res.json({ rotated: r.sessionID !== before, empty, id: r.session.id === r.sessionID });
        });
      });
      a.get('/logout', (req, res, next) => {
        const r = req as SessionReq;
        r.session.destroy((error) => (error ? next(error) : res.send(String(r.session === undefined))));
      });
    });
    try {
      const cookie = cookieOf(await get(app, '/views'));
      const login = await get(app, '/login', cookie);
      assert.deepEqual(await login.json(), { rotated: true, empty: true, id: true });
      const after = cookieOf(login);
      assert.equal(Object.keys(store.sessions).length, 1, 'the old record is gone');
      assert.equal(await body(app, '/views', cookie), '1', 'the old cookie starts over');
      const logout = await get(app, '/logout', after);
      assert.equal(await logout.text(), 'true');
      assert.match(logout.headers.getSetCookie()[0] ?? '', /Expires=Thu, 01 Jan 1970/);
    } finally {
      await app.close();
    }
  });

  it('regenerate(cb) left empty without saveUninitialized removes the old session and stores nothing', async () => {
    const store = new MemoryStore();
    const app = await serve(ours({ store }), (a) => {
      counter(a);
      a.get('/rotate', (req, res, next) => {
        (req as SessionReq).session.regenerate((error) => (error ? next(error) : res.send('ok')));
      });
    });
    try {
      const cookie = cookieOf(await get(app, '/views'));
      const rotate = await get(app, '/rotate', cookie);
      assert.equal(await rotate.text(), 'ok');
      assert.equal(rotate.headers.getSetCookie().length, 0, 'no cookie for an uninitialized session');
      assert.deepEqual(Object.keys(store.sessions), [], 'the old record is gone and nothing new was stored');
    } finally {
      await app.close();
    }
  });

  it('save(cb) before a redirect, reload(cb) and touch() behave as in express-session', async () => {
    const app = await serve(ours({ cookie: { maxAge: 60_000 } }), (a) => {
      counter(a);
      a.get('/save', (req, res, next) => {
        const r = req as SessionReq;
        r.session.flag = 'saved';
        r.session.save((error) => (error ? next(error) : res.redirect('/views')));
      });
      a.get('/reload', (req, res, next) => {
        const r = req as SessionReq;
        r.session.flag = 'changed';
        r.session.reload((error) => (error ? next(error) : res.send(String((req as SessionReq).session.flag))));
      });
      a.get('/touch', (req, res) => {
        const r = req as SessionReq;
        r.session.touch();
        res.send(String(Math.round(Number(r.session.cookie.maxAge) / 1000)));
      });
    });
    try {
      const saved = await get(app, '/save');
      assert.equal(saved.status, 302);
      const cookie = cookieOf(saved);
      assert.equal(await body(app, '/reload', cookie), 'saved', 'reload() brings back the stored state');
      assert.equal(await body(app, '/touch', cookie), '60', 'touch() resets maxAge to the original');
    } finally {
      await app.close();
    }
  });

  it('reload(cb) on a session never stored fails like express-session', async () => {
    const app = await serve(ours({}), (a) =>
      a.get('/', (req, res) => {
        (req as SessionReq).session.reload((error) => res.send(error instanceof Error ? error.message : 'no error'));
      }),
    );
    try {
      assert.equal(await body(app, '/'), 'failed to load session');
    } finally {
      await app.close();
    }
  });

  it('passes a store failure to next(err)', async () => {
    const broken = new MemoryStore();
    broken.get = (_sid, cb) => setImmediate(cb, new Error('store down'));
    const app = await serve(ours({ store: broken }), counter);
    try {
      const response = await get(app, '/views', 'connect.sid=' + encodeURIComponent(`s:${signature.sign('abc', secret)}`));
      // A store outage is "unavailable for now": 503 with Retry-After, through next(err).
      assert.equal(response.status, 503);
      assert.equal(response.headers.get('retry-after'), '1');
      assert.match(await response.text(), /acquire failed/);
    } finally {
      await app.close();
    }
  });

  it("answers a lock timeout through Express's own error handler: 503 with Retry-After", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const app = express();
    app.use(ours({ lock: { waitMs: 100 } }));
    counter(app);
    app.get('/hold', async (req, res) => {
      (req as SessionReq).session.held = true;
      entered();
      await held;
      res.send('ok');
    });
    const served = await listen(createServer(app));
    try {
      const cookie = cookieOf(await get(served, '/views'));
      const holding = get(served, '/hold', cookie);
      await inside;
      const busy = await get(served, '/views', cookie);
      assert.equal(busy.status, 503);
      assert.equal(busy.headers.get('retry-after'), '1');
      release();
      assert.equal((await holding).status, 200);
    } finally {
      await served.close();
    }
  });
  it('holds flushHeaders() until the session is saved, so a new session still gets its cookie', async () => {
    const app = await serve(ours({}), (routes) => {
      routes.get('/flush', async (req, res) => {
        (req as SessionReq).session.flushed = true;
        res.flushHeaders();
        await new Promise((resolve) => setTimeout(resolve, 20));
        res.end('done');
      });
    });
    try {
      const response = await get(app, '/flush');
      assert.equal(await response.text(), 'done');
      assert.ok(cookieOf(response) !== undefined, 'Set-Cookie went out with the held headers');
    } finally {
      await app.close();
    }
  });

  it('keeps a write or end wrapper of a later middleware (compression, say) in place after the save', async () => {
    // Such a wrapper holds the gate's stand-ins; a streamed body's later writes must still
    // go through it once the session is saved and the held start of the response sent.
    const upper: RequestHandler = (_req, res, next) => {
      const { write, end } = res;
      const shout = (chunk: unknown): unknown => (typeof chunk === 'string' ? chunk.toUpperCase() : chunk);
      res.write = ((chunk: unknown, ...rest: unknown[]) => Reflect.apply(write, res, [shout(chunk), ...rest])) as typeof res.write;
      res.end = ((chunk: unknown, ...rest: unknown[]) => Reflect.apply(end, res, [shout(chunk), ...rest])) as typeof res.end;
      next();
    };
    const app = express();
    app.use(ours({}));
    app.use(upper);
    app.get('/stream', async (req, res) => {
      (req as SessionReq).session.streamed = true;
      res.write('a');
      await new Promise((resolve) => setTimeout(resolve, 20));
      res.write('b');
      res.end('c');
    });
    const served = await listen(createServer(app));
    try {
      const response = await get(served, '/stream');
      assert.equal(await response.text(), 'ABC');
      assert.ok(cookieOf(response) !== undefined, 'the session was saved and its cookie sent');
    } finally {
      await served.close();
    }
  });
});

describe('sessionlock/express: where the response is held', () => {
  // Under Express the stand-ins that hold a response until its session is saved live on
  // Express's shared response prototype; these pin down the cases that must still reach them.
  const overlapping = async (app: ScenarioApp, path: string): Promise<string> => {
    const cookie = cookieOf(await get(app, path));
    assert.ok(cookie !== undefined, 'the new session was saved and its cookie sent with the held headers');
    await Promise.all(Array.from({ length: 20 }, () => body(app, path, cookie)));
    return body(app, path, cookie);
  };

  it('holds a response that a mounted sub-app sends, with its own app.response', async () => {
    const sub = express();
    sub.get('/views', async (req, res) => {
      const s = (req as SessionReq).session;
      const views = Number(s.views ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, 2));
      s.views = views;
      res.send(String(views));
    });
    const app = await serve(ours({}), (routes) => routes.use('/sub', sub));
    try {
      assert.equal(await overlapping(app, '/sub/views'), '22');
    } finally {
      await app.close();
    }
  });

  it('holds a response whose end an earlier middleware wrapped on the response itself', async () => {
    const lower: RequestHandler = (_req, res, next) => {
      const { end } = res;
      res.end = ((chunk: unknown, ...rest: unknown[]) =>
        Reflect.apply(end, res, [typeof chunk === 'string' ? chunk.toLowerCase() : chunk, ...rest])) as typeof res.end;
      next();
    };
    const app = express();
    app.use(lower);
    app.use(ours({}));
    counter(app);
    app.get('/word', (req, res) => {
      (req as SessionReq).session.word = true;
      res.end('WORD');
    });
    const served = await listen(createServer(app));
    try {
      const word = await get(served, '/word');
      assert.equal(await word.text(), 'word');
      assert.ok(cookieOf(word) !== undefined);
      assert.equal(await overlapping(served, '/views'), '22');
    } finally {
      await served.close();
    }
  });

  it('answers routes without a session unchanged, and leaves node:http\'s own response methods alone', async () => {
    const { writeHead, write, end } = ServerResponse.prototype;
    const app = express();
    app.get('/plain', (_req, res) => res.send('plain'));
    app.use(ours({}));
    counter(app);
    const served = await listen(createServer(app));
    try {
      assert.equal(await overlapping(served, '/views'), '22');
      const plain = await get(served, '/plain');
      assert.equal(await plain.text(), 'plain');
      assert.equal(cookieOf(plain), undefined);
      assert.deepEqual([ServerResponse.prototype.writeHead, ServerResponse.prototype.write, ServerResponse.prototype.end], [writeHead, write, end]);
    } finally {
      await served.close();
    }
  });
});

describe('sessionlock/express: locking', () => {
  it('loses no overlapping update with an express-session store (in-process lock)', async () => {
    const app = await serve(ours({ store: new expressSession.MemoryStore() as never }), counter);
    try {
      const cookie = cookieOf(await get(app, '/views'));
      let started = 0;
      const worker = async (): Promise<void> => {
        while (started < 200) {
          started += 1;
          await body(app, '/views', cookie);
        }
      };
      await Promise.all(Array.from({ length: 20 }, worker));
      assert.equal(await body(app, '/views', cookie), '202');
    } finally {
      await app.close();
    }
  });

  it('with a sessionlock store, locks across managers (as across processes) sharing it', async () => {
    const store = createMemoryStore();
    // Two middlewares, two managers, two in-process queues: only the store's lease orders them.
    const a = await serve(ours({ store }), counter);
    const b = await serve(ours({ store }), counter);
    try {
      const cookie = cookieOf(await get(a, '/views'));
      let started = 0;
      const worker = async (index: number): Promise<void> => {
        while (started < 200) {
          started += 1;
          await body(index % 2 === 0 ? a : b, '/views', cookie);
        }
      };
      await Promise.all(Array.from({ length: 20 }, (_, index) => worker(index)));
      assert.equal(await body(a, '/views', cookie), '202');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('with a sessionlock store, keys records on a hash of the id, not the id', async () => {
    const store = createMemoryStore();
    const app = await serve(ours({ store, genid: () => 'visible-id' }), counter);
    try {
      const cookie = cookieOf(await get(app, '/views'));
      assert.equal(await body(app, '/views', cookie), '2');
      assert.equal(await store.read('visible-id'), null);
    } finally {
      await app.close();
    }
  });
});
