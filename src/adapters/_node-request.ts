import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import { gateResponse } from './_response-gate.js';
import { errorAnswer } from './_http-error.js';

/** True when the request came over TLS, or, with `trustProxy`, when `X-Forwarded-Proto` says https. */
export function isSecureRequest(req: IncomingMessage, trustProxy: boolean): boolean {
  if ((req.socket as Partial<TLSSocket> | null)?.encrypted === true) return true;
  if (!trustProxy) return false;
  return forwardedProtoIsHttps(req.headers['x-forwarded-proto']);
}

/** True when the first value of an `X-Forwarded-Proto` header is `https`. */
export function forwardedProtoIsHttps(header: string | string[] | null | undefined): boolean {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(',')[0]?.trim().toLowerCase() === 'https';
}

/**
 * Ties an open session to a `node:http` response: the response's headers wait until the
 * session is committed (so a redirect cannot outrun the save), and a client that goes
 * away before any response releases the lock without saving. Express, Koa and Fastify
 * all answer through a `node:http` response, so they share this.
 *
 * `commit` answers the `Set-Cookie` value(s) to add; `fail` replaces the response when
 * the commit throws.
 */
export function bindToResponse(
  manager: SessionManager,
  session: Session,
  res: ServerResponse,
  commit: () => Promise<string | undefined>,
  fail: (error: unknown) => void,
): void {
  gateResponse(res, commit, fail);
  // 'close' comes once per response; `on` spares the wrapper `once` would make per request.
  res.on('close', () => {
    void manager.abort(session);
  });
}

/** Answers an error on a `node:http` response, or cuts the connection if headers already left. */
export function answerNodeError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, headers, body } = errorAnswer(error);
  res.writeHead(status, headers);
  res.end(body);
}
