// Any fetch-API server: a (request) => Response handler, here served by @hono/node-server.
// Run: SESSION_SECRET=change-me node examples/fetch.js
import { serve } from '@hono/node-server';
import { createSessionManager } from 'sessionlock';
import { sessions } from 'sessionlock/fetch';

const manager = createSessionManager({ store: process.env.SESSIONLOCK_STORE ?? 'memory:', secret: process.env.SESSION_SECRET });

const handler = sessions(
  manager,
  (request, session) => {
    if (new URL(request.url).pathname === '/poll') return Response.json({ hits: session.data.hits ?? 0 });
    session.data.hits = Number(session.data.hits ?? 0) + 1;
    return new Response(`hits: ${session.data.hits}\n`);
  },
  { mode: (request) => (new URL(request.url).pathname === '/poll' ? 'readonly' : 'exclusive') },
);

serve({ fetch: handler, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }, (info) => {
  console.log(`listening on http://127.0.0.1:${info.port}/`);
});
