// Runs the demo (`node demo/server.js`, as `npm start` does) as a child process on a free
// port, and talks to it over plain node:http so a test controls its connections (a
// keep-alive socket stays with one cluster worker, which is how a test finds the worker
// that holds a request).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { once } from 'node:events';

const root = new URL('../..', import.meta.url).pathname;
const serverPath = new URL('../../demo/server.js', import.meta.url).pathname;

/** How long the demo may take to print its URL, in ms (a failure bound, not a measurement). */
const START_TIMEOUT_MS = 30_000;
/** How long the demo may take to exit after SIGTERM before the test kills it, in ms. */
const STOP_TIMEOUT_MS = 15_000;

/** Settings the demo reads; unset here unless a test sets them, so the host's own do not leak in. */
const DEMO_ENV = ['SESSIONLOCK_STORE', 'PORT', 'HOST', 'WORKERS', 'SESSION_SECRET', 'SESSIONLOCK_LEASE_MS', 'SESSIONLOCK_WAIT_MS'];

/** A running demo. */
export interface DemoProcess {
  /** Base URL without the trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything it printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr contains `text`; rejects after `timeoutMs`. */
  waitForStderr(text: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL if it does not exit in time; answers the exit code (null when killed). */
  stop(): Promise<number | null>;
}

/** Start the demo with these environment variables (PORT defaults to 0: a free port). */
export async function startDemo(env: Record<string, string>, cwd = root): Promise<DemoProcess> {
  if (!existsSync(new URL('../../dist/index.js', import.meta.url))) {
    throw new Error('dist/ is missing: the demo imports the built package; run `npm run build` first');
  }
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !DEMO_ENV.includes(name)));
  const child = spawn(process.execPath, [serverPath], {
    cwd,
    env: { ...base, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const changed = (): void => {
    for (const listener of listeners) listener();
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    changed();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    changed();
  });
  let exited = child.exitCode !== null;
  child.once('exit', () => {
    exited = true;
    changed();
  });

  const waitFor = (done: () => boolean, what: string, timeoutMs: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (done()) finish(undefined);
        else if (exited) finish(new Error(`the demo exited before ${what}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      };
      const timer = setTimeout(
        () => finish(new Error(`no ${what} within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`)),
        timeoutMs,
      );
      const finish = (error: Error | undefined): void => {
        clearTimeout(timer);
        listeners.delete(check);
        if (error === undefined) resolve();
        else reject(error);
      };
      listeners.add(check);
      check();
    });

  const stop = async (): Promise<number | null> => {
    if (!exited) {
      const exit = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exit;
      clearTimeout(timer);
    }
    return child.exitCode;
  };

  try {
    await waitFor(() => /http:\/\/\S+\//.test(stdout), 'startup line', START_TIMEOUT_MS);
  } catch (error) {
    await stop();
    throw error;
  }
  const url = (/(http:\/\/\S+)\//.exec(stdout) as RegExpExecArray)[1] as string;
  return {
    url,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStderr: (text, timeoutMs = START_TIMEOUT_MS) => waitFor(() => stderr.includes(text), `"${text}" on stderr`, timeoutMs),
    stop,
  };
}

/** One answered request. */
export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The `x-worker-pid` header as a number. */
  readonly pid: number;
}

/** Options of `send`. */
export interface SendOptions {
  method?: string;
  /** The `Cookie` header to send. */
  cookie?: string;
  /** A connection pool; by default a new connection per request. */
  agent?: Agent;
  /** Give up after this many ms with {@link NoAnswerError} (a hang detector, not a measurement). */
  timeoutMs?: number;
}

/** `send` got no complete answer within its `timeoutMs`. */
export class NoAnswerError extends Error {
  override readonly name = 'NoAnswerError';
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

/** One HTTP request to the demo; rejects on a connection error. */
export function send(url: string, options: SendOptions = {}): Promise<Reply> {
  const { method = 'GET', cookie, agent, timeoutMs } = options;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method, agent: agent ?? false, headers: cookie === undefined ? {} : { cookie } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('error', reject);
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, pid: Number(res.headers['x-worker-pid']) });
        });
      },
    );
    req.on('error', reject);
    if (timeoutMs !== undefined) {
      // Counts from the start, not idle time (req.setTimeout), so a trickling answer is caught too.
      const timer = setTimeout(() => req.destroy(new NoAnswerError(timeoutMs)), timeoutMs);
      req.once('close', () => clearTimeout(timer));
    }
    req.end();
  });
}

/** The `name=value` part of a reply's Set-Cookie, to send back as a Cookie header. */
export function cookieOf(reply: Reply): string {
  const setCookie = reply.headers['set-cookie']?.[0];
  if (setCookie === undefined) throw new Error(`expected a Set-Cookie header (status ${reply.status})`);
  return setCookie.split(';')[0] as string;
}

/** `hits` from a JSON reply of /api/hit or /api/session. */
export function hitsOf(reply: Reply): number {
  const body = JSON.parse(reply.body) as { hits?: unknown };
  if (typeof body.hits !== 'number') throw new Error(`no hits in the reply: ${reply.status} ${reply.body}`);
  return body.hits;
}

/** Run `count` tasks with at most `concurrency` in flight; answers their results in order. */
export async function inParallel<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const index = next;
      next += 1;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return results;
}
