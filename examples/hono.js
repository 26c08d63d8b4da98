// Hono on Node (@hono/node-server) with sessionlock. Run: SESSION_SECRET=change-me node examples/hono.js
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createSessionManager } from 'sessionlock';
import { sessions } from 'sessionlock/hono';

const manager = createSessionManager({ store: process.env.SESSIONLOCK_STORE ?? 'memory:', secret: process.env.SESSION_SECRET });
const app = new Hono();
// Route-level instance first: polling reads a snapshot and never waits.
app.get('/poll', sessions(manager, { mode: 'readonly' }), (c) => c.json({ hits: c.get('session').data.hits ?? 0 }));
app.use(sessions(manager));
app.get('/', (c) => {
  const { data } = c.get('session');
  data.hits = Number(data.hits ?? 0) + 1;
  return c.text(`hits: ${data.hits}\n`);
});

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }, (info) => {
  console.log(`listening on http://127.0.0.1:${info.port}/`);
});
