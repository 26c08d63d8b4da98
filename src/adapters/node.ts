import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import { chooseMode, type LockModeChoice } from './_lock-mode.js';
import { answerNodeError, bindToResponse, isSecureRequest } from './_node-request.js';

export { statusForError } from './_http-error.js';

/** A `node:http` request handler that is given the request's session. */
export type SessionRequestHandler = (req: IncomingMessage, res: ServerResponse, session: Session) => unknown;

/** Options of the `node:http` adapter. */
export interface NodeSessionOptions {
  /**
   * Lock mode per request, e.g. `readonly` for polling endpoints so they never wait.
   * @default the manager's `lock.mode`
   */
  mode?: LockModeChoice<IncomingMessage>;
  /** Believe `X-Forwarded-Proto` from a proxy when deciding whether the request was https. @default false */
  trustProxy?: boolean;
  /**
   * Called with every error the adapter answers for (after it chose the status), so
   * nothing is lost; the default writes it to stderr.
   */
  onError?: (error: unknown, req: IncomingMessage) => void;
}

/**
 * Wrap a `node:http` handler so each request gets its session. The session is committed
 * before the response headers go out (a redirect can never outrun the save); a handler
 * that throws, or a client that goes away first, releases the lock without saving; a lock
 * timeout answers 503 with `Retry-After`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createSessionManager } from 'sessionlock';
 * import { sessions } from 'sessionlock/node';
 *
 * const manager = createSessionManager({ store: 'sqlite:./data/sessions.db', secret: process.env.SESSION_SECRET });
 * createServer(sessions(manager, (req, res, session) => {
 *   session.data.hits = Number(session.data.hits ?? 0) + 1;
 *   res.end(`hits: ${session.data.hits}\n`);
 * })).listen(3000);
 * ```
 */
export function sessions(
  manager: SessionManager,
  handler: SessionRequestHandler,
  options: NodeSessionOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { mode, trustProxy = false, onError = (error: unknown) => console.error(error) } = options;
  const fail = (req: IncomingMessage, res: ServerResponse, error: unknown): void => {
    onError(error, req);
    answerNodeError(res, error);
  };
  return async function sessionRequestListener(req, res) {
    let session: Session;
    try {
      session = await manager.open(req.headers.cookie, {
        mode: chooseMode(mode, req),
        secure: isSecureRequest(req, trustProxy),
      });
    } catch (error) {
      fail(req, res, error);
      return;
    }
    bindToResponse(manager, session, res, () => manager.commit(session), (error) => fail(req, res, error));
    try {
      await handler(req, res, session);
    } catch (error) {
      await manager.abort(session);
      fail(req, res, error);
    }
  };
}
