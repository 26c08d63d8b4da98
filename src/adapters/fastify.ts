import type { FastifyInstance, FastifyPluginCallback, FastifyRequest } from 'fastify';
import type { SessionManager } from '../core/manager.js';
import type { LockMode } from '../core/options.js';
import type { Session as SessionlockSession } from '../core/session.js';
import { isSessionError } from '../errors.js';
import { errorAnswer, retryHeaders, statusForError } from './_http-error.js';
import { chooseMode, type LockModeChoice } from './_lock-mode.js';

export { statusForError } from './_http-error.js';

// `request.session` is not declared on FastifyRequest: @fastify/session declares the same
// property with its own type, and two declarations would break either library's users.
// `sessionOf(request)` is the typed way in.
declare module 'fastify' {
  interface FastifyContextConfig {
    /** Per-route session settings: `{ session: { mode: 'readonly' } }` for a polling route. */
    session?: { mode?: LockMode };
  }
}

/** Options of the Fastify plugin. */
export interface FastifySessionOptions {
  /** The session manager. */
  manager: SessionManager;
  /**
   * Lock mode for routes whose `config.session.mode` does not choose one.
   * @default the manager's `lock.mode`
   */
  mode?: LockModeChoice<FastifyRequest>;
}

/** What the plugin adds to a request. */
interface WithSession {
  session: SessionlockSession | null;
}

/**
 * The request's session, typed. Throws if the plugin is not registered for this route,
 * which is a programming error.
 */
export function sessionOf(request: FastifyRequest): SessionlockSession {
  const { session } = request as unknown as WithSession;
  if (session === null || session === undefined) {
    throw new TypeError('sessionlock: no session on this request (register the sessionlock/fastify plugin)');
  }
  return session;
}

function routeMode(request: FastifyRequest): LockMode | undefined {
  const config = request.routeOptions.config as { session?: { mode?: LockMode } } | undefined;
  return config?.session?.mode;
}

const plugin: FastifyPluginCallback<FastifySessionOptions> = (fastify: FastifyInstance, options, done) => {
  const { manager, mode } = options;
  // `never`: the property's type may be declared by another plugin's types (see above).
  fastify.decorateRequest('session', null as never);

  fastify.addHook('onRequest', async (request, reply) => {
    try {
      (request as unknown as WithSession).session = await manager.open(request.headers.cookie, {
        mode: routeMode(request) ?? chooseMode(mode, request),
        secure: request.protocol === 'https',
      });
    } catch (error) {
      request.log.error(error);
      const { status, headers, body } = errorAnswer(error);
      return reply.code(status).headers(headers).send(body);
    }
  });

  // A failed handler gives the lock back unsaved; onSend then finds nothing left to commit.
  fastify.addHook('onError', async (request) => {
    const { session } = request as unknown as WithSession;
    if (session !== null) await manager.abort(session);
  });

  // The save finishes here, before Fastify writes the headers: a redirect cannot outrun it.
  fastify.addHook('onSend', async (request, reply, payload) => {
    const { session } = request as unknown as WithSession;
    if (session === null) return payload;
    let setCookie: string | undefined;
    try {
      setCookie = await manager.commit(session);
    } catch (error) {
      if (isSessionError(error)) {
        Object.assign(error, { statusCode: statusForError(error) });
        reply.headers(retryHeaders(error));
      }
      throw error;
    }
    if (setCookie !== undefined) reply.header('set-cookie', setCookie);
    return payload;
  });

  // A client that left before the response: release without saving.
  const release = async (request: FastifyRequest): Promise<void> => {
    const { session } = request as unknown as WithSession;
    if (session !== null) await manager.abort(session);
  };
  fastify.addHook('onRequestAbort', release);
  fastify.addHook('onResponse', release);
  done();
};

// fastify-plugin's marker: the decoration and hooks apply to the whole app, not one encapsulated context.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'sessionlock',
});

/**
 * The Fastify plugin: `request.session` on every request (typed: `sessionOf(request)`). The session is committed in
 * `onSend`, before the headers go out; a route picks its lock mode with
 * `config: { session: { mode: 'readonly' } }`; a lock timeout answers 503 with
 * `Retry-After`.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { createSessionManager } from 'sessionlock';
 * import { sessions } from 'sessionlock/fastify';
 *
 * const app = Fastify();
 * await app.register(sessions, { manager: createSessionManager({ store: 'memory:', secret: process.env.SESSION_SECRET }) });
 * app.get('/', async (request) => {
 *   const session = sessionOf(request);
 *   session.data.hits = Number(session.data.hits ?? 0) + 1;
 *   return { hits: session.data.hits };
 * });
 * app.get('/poll', { config: { session: { mode: 'readonly' } } }, async (request) => sessionOf(request).data);
 * ```
 */
export const sessions = plugin;
export default plugin;
