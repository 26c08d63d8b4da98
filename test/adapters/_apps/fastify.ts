import Fastify from 'fastify';
import { createSessionManager } from '../../../src/index.js';
import { sessionOf, sessions } from '../../../src/adapters/fastify.js';
import type { StartApp } from '../_scenarios.js';

/** The scenario routes on Fastify 5; `/peek` picks read-only in its route config. */
export const startFastify: StartApp = async ({ store, secret, waitMs, onHold }) => {
  const manager = createSessionManager({ store, secret, lock: { waitMs }, sweep: false });
  const app = Fastify({ logger: false });
  await app.register(sessions, { manager });
  const of = sessionOf;
  app.get('/hit', async (request) => {
    const data = of(request).data;
    data.hits = Number(data.hits ?? 0) + 1;
    return String(data.hits);
  });
  app.get('/peek', { config: { session: { mode: 'readonly' } } }, async (request) => String(of(request).data.hits ?? 0));
  app.get('/noop', async () => 'ok');
  app.get('/login', async (request) => {
    const session = of(request);
    session.regenerate();
    session.data.user = 'ada';
    return 'ok';
  });
  app.get('/logout', async (request) => {
    of(request).destroy();
    return 'ok';
  });
  app.get('/redirect', async (request, reply) => {
    of(request).data.flag = 'set';
    return reply.redirect('/peek');
  });
  app.get('/hold', async (request) => {
    of(request).data.held = true;
    await onHold();
    return 'ok';
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: `${url}/`,
    async close() {
      await app.close();
      await manager.close();
    },
  };
};
