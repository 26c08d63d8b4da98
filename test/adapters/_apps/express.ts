import { createServer } from 'node:http';
import type { Express, NextFunction, Request, Response } from 'express';
import session from '../../../src/adapters/express.js';
import type { StartApp } from '../_scenarios.js';
import { listen, scenarioMode } from './_listen.js';

/** Either Express 4 or 5: both take the same calls here. */
type ExpressFactory = () => Express;

interface Fields {
  hits?: number;
  user?: string;
  flag?: string;
  held?: boolean;
}

function fieldsOf(req: Request): Fields {
  return (req as unknown as { session: Fields }).session;
}

type SessionMethods = { regenerate(cb: (error?: unknown) => void): void; destroy(cb: (error?: unknown) => void): void };

function methodsOf(req: Request): SessionMethods {
  return (req as unknown as { session: SessionMethods }).session;
}

/** The scenario routes on Express, with the express-session style API. */
export function startExpress(express: ExpressFactory): StartApp {
  return async ({ store, secret, waitMs, onHold }) => {
    const app = express();
    const middleware = session({
      store,
      secret,
      resave: false,
      saveUninitialized: false,
      lock: { waitMs, mode: (req) => scenarioMode(new URL(req.url ?? '/', 'http://x').pathname) },
      sweep: false,
    });
    app.use(middleware);
    app.get('/hit', (req, res) => {
      const s = fieldsOf(req);
      s.hits = (s.hits ?? 0) + 1;
      res.send(String(s.hits));
    });
    app.get('/peek', (req, res) => {
      res.send(String(fieldsOf(req).hits ?? 0));
    });
    app.get('/noop', (_req, res) => {
      res.send('ok');
    });
    app.get('/login', (req, res, next) => {
      methodsOf(req).regenerate((error) => {
        if (error) return next(error);
        fieldsOf(req).user = 'ada';
        res.send('ok');
      });
    });
    app.get('/logout', (req, res, next) => {
      methodsOf(req).destroy((error) => (error ? next(error) : res.send('ok')));
    });
    app.get('/redirect', (req, res) => {
      fieldsOf(req).flag = 'set';
      res.redirect('/peek');
    });
    app.get('/hold', async (req, res) => {
      fieldsOf(req).held = true;
      await onHold();
      res.send('ok');
    });
    // Quiet error handler: the scenarios look at the status and headers Express sends.
    app.use((error: { status?: number; headers?: Record<string, string> }, _req: Request, res: Response, next: NextFunction) => {
      if (res.headersSent) return next(error);
      res.status(error.status ?? 500).set(error.headers ?? {}).send('error');
    });
    return listen(createServer(app), () => middleware.manager.close());
  };
}
