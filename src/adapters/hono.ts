import type { Context, MiddlewareHandler } from 'hono';
import type { SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import { errorAnswer } from './_http-error.js';
import { chooseMode, type LockModeChoice } from './_lock-mode.js';
import { forwardedProtoIsHttps } from './_node-request.js';

export { statusForError } from './_http-error.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** The request's session (set by `sessionlock/hono`). */
    session: Session;
  }
}

/** Options of the Hono adapter. */
export interface HonoSessionOptions {
  /** Lock mode, for every request this middleware serves or chosen per request. @default the manager's `lock.mode` */
  mode?: LockModeChoice<Context>;
  /** Believe `X-Forwarded-Proto` when deciding whether the request was https. @default false */
  trustProxy?: boolean;
  /** Called with every error the adapter answers for itself; the default writes it to stderr. */
  onError?: (error: unknown, c: Context) => void;
}

/**
 * Hono middleware that gives each request `c.get('session')`. The session is committed
 * after the handler and before the response is returned; a handler error releases the
 * lock without saving; a lock timeout answers 503 with `Retry-After`. Mount it per route
 * to choose the lock mode there (`readonly` for polling routes, which never wait).
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { createSessionManager } from 'sessionlock';
 * import { sessions } from 'sessionlock/hono';
 *
 * const manager = createSessionManager({ store: 'memory:', secret: process.env.SESSION_SECRET });
 * const app = new Hono();
 * app.get('/poll', sessions(manager, { mode: 'readonly' }), (c) => c.json(c.get('session').data));
 * app.use(sessions(manager));
 * ```
 */
export function sessions(manager: SessionManager, options: HonoSessionOptions = {}): MiddlewareHandler {
  const { mode, trustProxy = false, onError = (error: unknown) => console.error(error) } = options;
  const fail = (c: Context, error: unknown): Response => {
    onError(error, c);
    const { status, headers, body } = errorAnswer(error);
    return new Response(body, { status, headers });
  };
  return async function sessionMiddleware(c, next) {
    // A route-level instance after an app-level one: the first session stands.
    if (c.get('session') !== undefined) return next();
    let session: Session;
    try {
      session = await manager.open(c.req.header('cookie'), {
        mode: chooseMode(mode, c),
        secure:
          new URL(c.req.url).protocol === 'https:' || (trustProxy && forwardedProtoIsHttps(c.req.header('x-forwarded-proto'))),
      });
    } catch (error) {
      return fail(c, error);
    }
    c.set('session', session);
    try {
      await next();
    } catch (error) {
      await manager.abort(session);
      throw error;
    }
    if (c.error !== undefined) {
      await manager.abort(session);
      return;
    }
    let setCookie: string | undefined;
    try {
      setCookie = await manager.commit(session);
    } catch (error) {
      c.res = fail(c, error);
      return;
    }
    if (setCookie === undefined) return;
    // Some responses (Response.redirect) have immutable headers: copy them first.
    const response = new Response(c.res.body, c.res);
    response.headers.append('set-cookie', setCookie);
    c.res = undefined;
    c.res = response;
  };
}
