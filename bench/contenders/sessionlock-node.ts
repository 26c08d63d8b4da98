// sessionlock through its node:http adapter, on the store the harness names.
import { sessions } from '../../src/adapters/node.js';
import { createBenchManager, nextHits } from './_sessionlock.js';
import { answer, isHit, listen, work, type Contender } from './_serve.js';

/** Start this contender's server on a free loopback port. */
const start: Contender = async (context) => {
  const manager = await createBenchManager(context);
  return listen(
    sessions(manager, async (req, res, session) => {
      if (!isHit(req)) return void res.writeHead(404).end();
      await work(req.url);
      answer(res, nextHits(session.data));
    }),
  );
};
export default start;
