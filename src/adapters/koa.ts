import type { Context, Middleware, Next } from 'koa';
import type { SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import { errorAnswer } from './_http-error.js';
import { chooseMode, type LockModeChoice } from './_lock-mode.js';
import { answerNodeError, bindToResponse, isSecureRequest } from './_node-request.js';

export { statusForError } from './_http-error.js';

declare module 'koa' {
  interface DefaultContext {
    /** The request's session (set by `sessionlock/koa`). */
    session: Session;
  }
}

/** Options of the Koa adapter. */
export interface KoaSessionOptions {
  /** Lock mode per request, e.g. `readonly` for polling routes so they never wait. @default the manager's `lock.mode` */
  mode?: LockModeChoice<Context>;
  /** Believe `X-Forwarded-Proto` when deciding whether the request was https. @default the app's `proxy` setting */
  trustProxy?: boolean;
  /** Called with every error the adapter answers for itself; the default writes it to stderr. */
  onError?: (error: unknown, ctx: Context) => void;
}

/**
 * Koa middleware that gives each request `ctx.session`. The session is committed before
 * the response's headers go out; an error thrown downstream releases the lock without
 * saving and is rethrown to Koa; a lock timeout answers 503 with `Retry-After`.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { createSessionManager } from 'sessionlock';
 * import { sessions } from 'sessionlock/koa';
 *
 * const app = new Koa();
 * app.use(sessions(createSessionManager({ store: 'memory:', secret: process.env.SESSION_SECRET })));
 * app.use((ctx) => {
 *   ctx.session.data.hits = Number(ctx.session.data.hits ?? 0) + 1;
 *   ctx.body = `hits: ${ctx.session.data.hits}`;
 * });
 * ```
 */
export function sessions(manager: SessionManager, options: KoaSessionOptions = {}): Middleware {
  const { mode, onError = (error: unknown) => console.error(error) } = options;
  return async function sessionMiddleware(ctx: Context, next: Next) {
    let session: Session;
    try {
      session = await manager.open(ctx.get('cookie'), {
        mode: chooseMode(mode, ctx),
        secure: isSecureRequest(ctx.req, options.trustProxy ?? ctx.app.proxy),
      });
    } catch (error) {
      onError(error, ctx);
      const { status, headers, body } = errorAnswer(error);
      ctx.status = status;
      ctx.set(headers);
      ctx.body = body;
      return;
    }
    ctx.session = session;
    bindToResponse(manager, session, ctx.res, () => manager.commit(session), (error) => {
      onError(error, ctx);
      answerNodeError(ctx.res, error);
    });
    try {
      await next();
    } catch (error) {
      await manager.abort(session);
      throw error;
    }
  };
}
