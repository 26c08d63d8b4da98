// Ceiling: a bare node:http server with a process-wide counter and no session at all.
import { answer, isHit, listen, work, type Contender } from './_serve.js';

let hits = 0;

/** Start this contender's server on a free loopback port. */
const start: Contender = () =>
  listen(async (req, res) => {
    if (!isHit(req)) return void res.writeHead(404).end();
    await work(req.url);
    answer(res, ++hits);
  });
export default start;
