// Fastify 5 with @fastify/cookie and @fastify/session (its default in-memory store).
import type { Server } from 'node:http';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';
import { work, type Contender } from './_serve.js';

declare module 'fastify' {
  interface Session {
    hits?: number;
  }
}

const start: Contender = async ({ secret }) => {
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, { secret, cookie: { secure: false }, saveUninitialized: false });
  app.post('/hit', async (req) => {
    await work(req.url);
    const hits = (req.session.get('hits') ?? 0) + 1;
    req.session.set('hits', hits);
    return { hits };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server as Server;
};
export default start;
