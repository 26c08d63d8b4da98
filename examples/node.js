// Plain node:http with sessionlock. Run: SESSION_SECRET=change-me node examples/node.js
import { createServer } from 'node:http';
import { createSessionManager } from 'sessionlock';
import { sessions } from 'sessionlock/node';

const manager = createSessionManager({ store: process.env.SESSIONLOCK_STORE ?? 'memory:', secret: process.env.SESSION_SECRET });

const server = createServer(
  sessions(
    manager,
    (req, res, session) => {
      if (req.url === '/poll') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ hits: session.data.hits ?? 0 }));
        return;
      }
      session.data.hits = Number(session.data.hits ?? 0) + 1;
      res.end(`hits: ${session.data.hits}\n`);
    },
    { mode: (req) => (req.url === '/poll' ? 'readonly' : 'exclusive') },
  ),
);
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/`);
});
