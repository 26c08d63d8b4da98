import type { SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import { chooseMode, type LockModeChoice } from './_lock-mode.js';
import { errorAnswer } from './_http-error.js';
import { forwardedProtoIsHttps } from './_node-request.js';

export { statusForError } from './_http-error.js';

/** Options of the fetch-API adapter. */
export interface FetchSessionOptions {
  /**
   * Lock mode per request, e.g. `readonly` for polling endpoints so they never wait.
   * @default the manager's `lock.mode`
   */
  mode?: LockModeChoice<Request>;
  /** Believe `X-Forwarded-Proto` from a proxy when deciding whether the request was https. @default false */
  trustProxy?: boolean;
  /** Called with every error the convenience wrapper answers for; the default writes it to stderr. */
  onError?: (error: unknown, request: Request) => void;
}

/** A session opened for one `Request`, and how to finish it. */
export interface OpenedSession {
  /** The request's session. */
  readonly session: Session;
  /**
   * Save what changed and release the lock. Answers the headers to add to the
   * `Response` (a `Set-Cookie`, or none). Call it before the response leaves, so the
   * save cannot be outrun by the browser's next request.
   */
  commit(): Promise<Headers>;
  /** Release the lock without saving, for a request that failed. */
  abort(): Promise<void>;
}

/** The fetch-API adapter: opens sessions for `Request`s. */
export interface FetchSessions {
  /**
   * Open the session of `request`. A lock timeout rejects with `LockTimeoutError`
   * (answer 503 with `Retry-After`, see `statusForError`).
   */
  open(request: Request, options?: { mode?: LockModeChoice<Request> }): Promise<OpenedSession>;
}

/** A fetch-API handler that is given the request's session. */
export type FetchSessionHandler = (request: Request, session: Session) => Response | Promise<Response>;

function isSecure(request: Request, trustProxy: boolean): boolean {
  if (new URL(request.url).protocol === 'https:') return true;
  return trustProxy && forwardedProtoIsHttps(request.headers.get('x-forwarded-proto'));
}

/** Copies a response so its headers can be changed (`Response.redirect()` answers immutable ones). */
function withHeaders(response: Response, extra: Headers): Response {
  if (extra.getSetCookie().length === 0) return response;
  const copy = new Response(response.body, response);
  for (const value of extra.getSetCookie()) copy.headers.append('set-cookie', value);
  return copy;
}

function errorResponse(error: unknown): Response {
  const { status, headers, body } = errorAnswer(error);
  return new Response(body, { status, headers });
}

function opener(manager: SessionManager, options: FetchSessionOptions): FetchSessions {
  const { trustProxy = false } = options;
  return {
    async open(request, perRequest = {}) {
      const session = await manager.open(request.headers.get('cookie'), {
        mode: chooseMode(perRequest.mode ?? options.mode, request),
        secure: isSecure(request, trustProxy),
      });
      return {
        session,
        async commit() {
          const headers = new Headers();
          const setCookie = await manager.commit(session);
          if (setCookie !== undefined) headers.append('set-cookie', setCookie);
          return headers;
        },
        abort: () => manager.abort(session),
      };
    },
  };
}

/**
 * Sessions for any fetch-API server (Hono, Bun, Deno, Cloudflare-style handlers, or
 * node:http through `@hono/node-server`). Given only a manager it answers an opener;
 * given a handler it answers a `(request) => Promise<Response>` that commits before
 * the response is returned and answers 503 with `Retry-After` on a lock timeout.
 *
 * @example
 * ```ts
 * import { createSessionManager } from 'sessionlock';
 * import { sessions } from 'sessionlock/fetch';
 *
 * const manager = createSessionManager({ store: 'memory:', secret: process.env.SESSION_SECRET });
 * // Either wrap a handler…
 * export default sessions(manager, (request, session) => {
 *   session.data.hits = Number(session.data.hits ?? 0) + 1;
 *   return new Response(`hits: ${session.data.hits}\n`);
 * });
 * // …or open and commit by hand.
 * const { session, commit } = await sessions(manager).open(request);
 * const headers = await commit();
 * ```
 */
export function sessions(manager: SessionManager, options?: FetchSessionOptions): FetchSessions;
export function sessions(
  manager: SessionManager,
  handler: FetchSessionHandler,
  options?: FetchSessionOptions,
): (request: Request) => Promise<Response>;
export function sessions(
  manager: SessionManager,
  handlerOrOptions?: FetchSessionHandler | FetchSessionOptions,
  maybeOptions: FetchSessionOptions = {},
): FetchSessions | ((request: Request) => Promise<Response>) {
  if (typeof handlerOrOptions !== 'function') return opener(manager, handlerOrOptions ?? {});
  const handler = handlerOrOptions;
  const options = maybeOptions;
  const { onError = (error: unknown) => console.error(error) } = options;
  const sessionsOf = opener(manager, options);
  return async function sessionFetchHandler(request) {
    let opened: OpenedSession;
    try {
      opened = await sessionsOf.open(request);
    } catch (error) {
      onError(error, request);
      return errorResponse(error);
    }
    try {
      const response = await handler(request, opened.session);
      return withHeaders(response, await opened.commit());
    } catch (error) {
      await opened.abort();
      onError(error, request);
      return errorResponse(error);
    }
  };
}
