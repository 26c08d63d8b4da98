// Fastify 5 with @fastify/cookie and @fastify/session (its default in-memory store).
import type { Server } from 'node:http';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';
import { work, type Contender } from './_serve.js';

/** The part of @fastify/session's `request.session` the route uses. */
interface FastifySessionLike {
  get(key: 'hits'): number | undefined;
  set(key: 'hits', value: number): void;
}

/** Start this contender's server on a free loopback port. */
const start: Contender = async ({ secret }) => {
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, { secret, cookie: { secure: false }, saveUninitialized: false });
  app.post('/hit', async (req) => {
    await work(req.url);
    // Through a local type: sessionlock's own Fastify adapter augments FastifyRequest's
    // `session` too, and both augmentations meet in this project's typecheck.
    const session = (req as unknown as { session: FastifySessionLike }).session;
    const hits = (session.get('hits') ?? 0) + 1;
    session.set('hits', hits);
    return { hits };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server as Server;
};
export default start;
