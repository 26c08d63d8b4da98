// sessionlock through its Express adapter (`sessionlock/express`), used as the drop-in
// for express-session it is: the same options and the same `req.session` route.
import express from 'express';
import session from '../../src/adapters/express.js';
import { openBenchStore } from './_sessionlock.js';
import { listen, work, type Contender } from './_serve.js';

/** Start this contender's server on a free loopback port. */
const start: Contender = async (context) => {
  const store = await openBenchStore(context);
  const app = express();
  const middleware = session({ secret: context.secret, store, resave: false, saveUninitialized: false });
  // The adapter's request type and @types/express-session's augmented Request differ,
  // so app.use() does not accept it without a cast (reported to the adapter's author).
  app.use(middleware as unknown as express.RequestHandler);
  app.post('/hit', async (req, res) => {
    await work(req.url);
    const data = (req as unknown as { session: { hits?: number } }).session;
    const hits = (data.hits ?? 0) + 1;
    data.hits = hits;
    res.json({ hits });
  });
  return listen(app);
};
export default start;
