// The express-session contenders differ only in their store: one Express 5 app, one route.
import type { Server } from 'node:http';
import express from 'express';
import session from 'express-session';
import { listen, work } from './_serve.js';

declare module 'express-session' {
  interface SessionData {
    hits: number;
  }
}

/** Options beyond the store, for a peer whose README sets them differently. */
export type ExpressSessionExtras = Omit<session.SessionOptions, 'store' | 'secret'>;

/**
 * Start Express with express-session on `store` (`undefined`: its MemoryStore). The
 * defaults follow express-session's README: `resave: false, saveUninitialized: false`.
 */
export function startExpressSession(
  secret: string,
  store: session.Store | undefined,
  extras: ExpressSessionExtras = { resave: false, saveUninitialized: false },
): Promise<Server> {
  const app = express();
  app.use(session({ secret, ...(store === undefined ? {} : { store }), ...extras }));
  app.post('/hit', async (req, res) => {
    await work(req.url);
    const hits = (req.session.hits ?? 0) + 1;
    req.session.hits = hits;
    res.json({ hits });
  });
  return listen(app as unknown as Parameters<typeof listen>[0]);
}
