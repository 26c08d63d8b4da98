// Express with sessionlock in place of express-session: the same options and req.session API.
// Run: SESSION_SECRET=change-me node examples/express.js   (PORT defaults to 3000)
import express from 'express';
import session from 'sessionlock/express';

const app = express();
app.use(
  session({
    secret: process.env.SESSION_SECRET,
    resave: false,
    saveUninitialized: false,
    store: process.env.SESSIONLOCK_STORE ?? 'memory:', // or any express-session store (locks in-process only)
    lock: { mode: (req) => (req.url.startsWith('/poll') ? 'readonly' : 'exclusive') },
  }),
);
app.get('/', (req, res) => {
  req.session.hits = (req.session.hits ?? 0) + 1;
  res.send(`hits: ${req.session.hits}\n`);
});
app.get('/poll', (req, res) => res.json({ hits: req.session.hits ?? 0 }));

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/`);
});
