// Fastify with the sessionlock plugin. Run: SESSION_SECRET=change-me node examples/fastify.js
import Fastify from 'fastify';
import { createSessionManager } from 'sessionlock';
import { sessionOf, sessions } from 'sessionlock/fastify';

const manager = createSessionManager({ store: process.env.SESSIONLOCK_STORE ?? 'memory:', secret: process.env.SESSION_SECRET });
const app = Fastify();
await app.register(sessions, { manager });

app.get('/', async (request) => {
  const session = sessionOf(request);
  session.data.hits = Number(session.data.hits ?? 0) + 1;
  return `hits: ${session.data.hits}\n`;
});
// A polling route reads a snapshot: it never waits for the visitor's other requests.
app.get('/poll', { config: { session: { mode: 'readonly' } } }, async (request) => ({
  hits: sessionOf(request).data.hits ?? 0,
}));

const url = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`listening on ${url}/`);
