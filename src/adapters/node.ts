import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { SessionManager } from '../core/manager.js';
import type { LockMode } from '../core/options.js';
import type { Session } from '../core/session.js';
import { LockTimeoutError, isSessionError } from '../errors.js';
import { gateResponse } from './_response-gate.js';

/** A `node:http` request handler that is given the request's session. */
export type SessionRequestHandler = (req: IncomingMessage, res: ServerResponse, session: Session) => unknown;

/** Options of the `node:http` adapter. */
export interface NodeSessionOptions {
  /**
   * Lock mode per request, e.g. `readonly` for polling endpoints so they never wait.
   * @default the manager's `lock.mode`
   */
  mode?: LockMode | ((req: IncomingMessage) => LockMode);
  /** Believe `X-Forwarded-Proto` from a proxy when deciding whether the request was https. @default false */
  trustProxy?: boolean;
  /**
   * Called with every error the adapter answers for (after it chose the status), so
   * nothing is lost; the default writes it to stderr.
   */
  onError?: (error: unknown, req: IncomingMessage) => void;
}

/** The HTTP status for an error from the session layer: 503 for lock timeouts, 409 for lost races, else 500. */
export function statusForError(error: unknown): number {
  if (!isSessionError(error)) return 500;
  switch (error.code) {
    case 'ERR_SESSION_LOCK_TIMEOUT':
      return 503;
    case 'ERR_SESSION_LOCK_LOST':
    case 'ERR_SESSION_CONFLICT':
    case 'ERR_SESSION_DESTROYED':
      return 409;
    default:
      return 500;
  }
}

function isSecure(req: IncomingMessage, trustProxy: boolean): boolean {
  if ((req.socket as Partial<TLSSocket>).encrypted === true) return true;
  if (!trustProxy) return false;
  const proto = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https';
}

function answerError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = statusForError(error);
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  // Retry-After (RFC 9110 §10.2.3): the lock is usually free again within a second.
  if (error instanceof LockTimeoutError) headers['retry-after'] = '1';
  res.writeHead(status, headers);
  res.end(status === 503 ? 'The session is busy, try again.\n' : 'Session error.\n');
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
  return async function sessionRequestListener(req, res) {
    let session: Session;
    try {
      session = await manager.open(req.headers.cookie, {
        mode: typeof mode === 'function' ? mode(req) : mode,
        secure: isSecure(req, trustProxy),
      });
    } catch (error) {
      onError(error, req);
      answerError(res, error);
      return;
    }
    const fail = (error: unknown): void => {
      onError(error, req);
      answerError(res, error);
    };
    gateResponse(res, () => manager.commit(session), fail);
    // A client that leaves before any response was started must not keep the lock.
    res.once('close', () => {
      void manager.abort(session);
    });
    try {
      await handler(req, res, session);
    } catch (error) {
      await manager.abort(session);
      fail(error);
    }
  };
}
