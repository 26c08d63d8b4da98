// sessionlock through its Express adapter (`sessionlock/express`, a drop-in for
// express-session: the route reads and writes `req.session` the same way).
import express from 'express';
import type { RequestHandler } from 'express';
import type { SessionManager } from '../../src/index.js';
import { createBenchManager } from './_sessionlock.js';
import { UnavailableError, listen, work, type Contender } from './_serve.js';

type ExpressAdapter = (manager: SessionManager) => RequestHandler;

// Loaded by a computed path so the harness runs (and reports this contender as not
// available) while the adapter is still being written.
async function loadAdapter(): Promise<ExpressAdapter> {
  const path = '../../src/adapters/express.js';
  let module: Record<string, unknown>;
  try {
    module = (await import(path)) as Record<string, unknown>;
  } catch (error) {
    throw new UnavailableError('src/adapters/express.ts could not be loaded', { cause: error });
  }
  const verb = module.sessions;
  if (typeof verb !== 'function') throw new UnavailableError('src/adapters/express.ts exports no sessions()');
  return verb as ExpressAdapter;
}

const start: Contender = async (context) => {
  const sessions = await loadAdapter();
  const manager = await createBenchManager(context);
  const app = express();
  app.use(sessions(manager));
  app.post('/hit', async (req, res) => {
    await work(req.url);
    const session = (req as unknown as { session: Record<string, unknown> }).session;
    const hits = Number(session.hits ?? 0) + 1;
    session.hits = hits;
    res.json({ hits });
  });
  return listen(app);
};
export default start;
