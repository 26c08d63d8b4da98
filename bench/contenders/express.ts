// Ceiling: Express 5 with the same route and no session.
import express from 'express';
import { listen, work, type Contender } from './_serve.js';

let hits = 0;

/** Start this contender's server on a free loopback port. */
const start: Contender = () => {
  const app = express();
  app.post('/hit', async (req, res) => {
    await work(req.url);
    res.json({ hits: ++hits });
  });
  return listen(app);
};
export default start;
