/**
 * sessionlock/express against real Redis: connect-redis (an express-session store, lock
 * in-process only) with cookies shared both ways with express-session, and sessionlock's
 * own Redis store, whose lease orders requests across managers as across processes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { RedisStore } from 'connect-redis';
import express, { type RequestHandler } from 'express';
import expressSession from 'express-session';
import { createClient } from 'redis';
import session from '../../src/adapters/express.js';
import { requireServiceUrl } from '../services/require.js';
import { listen } from './_apps/_listen.js';
import type { ScenarioApp } from './_scenarios.js';

const url = requireServiceUrl('redis');
const secret = 'redis-secret';

async function serve(middleware: RequestHandler): Promise<ScenarioApp> {
  const app = express();
  app.use(middleware);
  app.get('/views', (req, res) => {
    const s = (req as unknown as { session: { views?: number } }).session;
    s.views = (s.views ?? 0) + 1;
    res.send(String(s.views));
  });
  return listen(createServer(app));
}

async function views(app: ScenarioApp, cookie?: string): Promise<{ text: string; cookie?: string }> {
  const response = await fetch(new URL('/views', app.url), { headers: cookie ? { cookie } : {} });
  return { text: await response.text(), cookie: response.headers.getSetCookie()[0]?.split(';')[0] ?? cookie };
}

async function burst(apps: ScenarioApp[], cookie: string, total: number, inFlight: number): Promise<void> {
  let started = 0;
  const worker = async (index: number): Promise<void> => {
    while (started < total) {
      started += 1;
      const { text } = await views(apps[index % apps.length] as ScenarioApp, cookie);
      assert.match(text, /^\d+$/);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, index) => worker(index)));
}

describe('sessionlock/express on Redis', () => {
  it('uses connect-redis, keeps express-session cookies valid both ways, and loses no overlapping update', async () => {
    const client = createClient({ url });
    await client.connect();
    const store = new RedisStore({ client, prefix: `sl-test-${randomBytes(6).toString('hex')}:` });
    const theirs = await serve(expressSession({ secret, store, resave: false, saveUninitialized: false }));
    const mine = await serve(session({ secret, store: store as never, resave: false, saveUninitialized: false, sweep: false }));
    try {
      const first = await views(theirs);
      assert.equal((await views(mine, first.cookie)).text, '2', 'an express-session cookie on connect-redis, read by sessionlock');
      assert.equal((await views(theirs, first.cookie)).text, '3', 'and back');
      await burst([mine], first.cookie as string, 200, 20);
      assert.equal((await views(mine, first.cookie)).text, '204');
    } finally {
      await theirs.close();
      await mine.close();
      await client.quit();
    }
  });

  it("with sessionlock's Redis store, two managers (as two processes) lose no overlapping update", async () => {
    const options = { secret, store: url, resave: false, saveUninitialized: false, sweep: false } as const;
    const a = session(options);
    const b = session(options);
    const appA = await serve(a);
    const appB = await serve(b);
    try {
      const { cookie } = await views(appA);
      await burst([appA, appB], cookie as string, 200, 20);
      assert.equal((await views(appB, cookie)).text, '202');
    } finally {
      await appA.close();
      await appB.close();
      await a.manager.close();
      await b.manager.close();
    }
  });
});
