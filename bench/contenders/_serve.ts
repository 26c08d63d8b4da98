// What every contender server shares: its context, the request's simulated work, and
// listening on a free loopback port. A contender file stays a few lines of its framework.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Services a contender may need; a URL is absent when the service could not be started. */
export interface ServiceUrls {
  readonly redis?: string;
  readonly postgres?: string;
  readonly mysql?: string;
  readonly memcached?: string;
}

/** What the harness hands a contender. */
export interface ContenderContext {
  /** A private directory for files (SQLite databases, session files), removed afterwards. */
  readonly tmpDir: string;
  /** The sessionlock store this run uses (`memory`, `sqlite`, …), for the sessionlock contenders. */
  readonly store: string | undefined;
  readonly services: ServiceUrls;
  /** The cookie-signing secret every contender uses. */
  readonly secret: string;
}

/** A contender module's default export: build the server and start it listening. */
export type Contender = (context: ContenderContext) => Promise<Server>;

/**
 * A contender that cannot run here (module not written yet, server not started): the
 * harness reports "not available: <message>" instead of failing the run.
 */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}

/** The service URL, or {@link UnavailableError} naming what is missing. */
export function serviceUrl(context: ContenderContext, name: keyof ServiceUrls): string {
  const url = context.services[name];
  if (url === undefined) throw new UnavailableError(`the ${name} server is not running`);
  return url;
}

/** Milliseconds of simulated work asked for by `?work=MS` (0 when absent), capped at 1 s. */
export function workMsOf(url: string | undefined): number {
  const match = /[?&]work=(\d+)/.exec(url ?? '');
  return match?.[1] === undefined ? 0 : Math.min(Number(match[1]), 1000);
}

/** Resolve after the request's simulated work (a timer, as a handler awaiting I/O would). */
export function work(url: string | undefined): Promise<void> | undefined {
  const ms = workMsOf(url);
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : undefined;
}

/** Answer the counter as JSON. */
export function answer(res: ServerResponse, hits: number): void {
  const body = JSON.stringify({ hits });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** True for the benchmark's one route. */
export function isHit(req: IncomingMessage): boolean {
  return req.method === 'POST' && (req.url === '/hit' || (req.url ?? '').startsWith('/hit?'));
}

/** Start `server` (or a server around `listener`) on a free loopback port. */
export function listen(serverOrListener: Server | RequestListener): Promise<Server> {
  const server = typeof serverOrListener === 'function' ? createServer(serverOrListener) : serverOrListener;
  // Keep-alive longer than any measurement's idle gap, so autocannon's connections stay up.
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** The port a listening server got. */
export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}
