// The news-site demo of sessionlock (`npm start`): "The Daily Lease", a front page of
// headlines whose stories count as read in the session, and a race lab that fires
// overlapping requests at one session. It imports the package the way an app does.
//
// Environment:
//   SESSIONLOCK_STORE     store URL (default sqlite:./data/sessions.db, relative to the cwd)
//   PORT                  default 3000; 0 picks a free port (printed at startup)
//   HOST                  default 127.0.0.1
//   WORKERS               default 1; more runs that many node:cluster workers on one port
//   SESSION_SECRET        cookie signing secret; a random one is made when missing
//   SESSIONLOCK_LEASE_MS  lease length in ms (default: the library's 30000)
//   SESSIONLOCK_WAIT_MS   longest a request waits for its session, in ms, before it answers
//                         503 (default: the library's 10000; the outage test shortens it)
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createSessionManager } from 'sessionlock';
import { createDemoListener } from './app.js';

/**
 * @typedef {object} DemoConfig
 * @property {string} store  Store URL.
 * @property {string} host
 * @property {number} port
 * @property {number} workers
 * @property {number | undefined} leaseMs
 * @property {number | undefined} waitMs
 */

/** How long a closing server waits for its open requests before cutting them off, in ms. */
const SHUTDOWN_GRACE_MS = 8000;

/**
 * An integer environment variable within bounds.
 * @param {string} name
 * @param {number | undefined} fallback
 * @param {number} min
 * @param {number} max
 * @returns {number | undefined}
 */
function integerFromEnv(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** @returns {DemoConfig} */
function readConfig() {
  return {
    store: process.env.SESSIONLOCK_STORE || 'sqlite:./data/sessions.db',
    host: process.env.HOST || '127.0.0.1',
    port: /** @type {number} */ (integerFromEnv('PORT', 3000, 0, 65535)),
    workers: /** @type {number} */ (integerFromEnv('WORKERS', 1, 1, 64)),
    leaseMs: integerFromEnv('SESSIONLOCK_LEASE_MS', undefined, 100, 3_600_000),
    waitMs: integerFromEnv('SESSIONLOCK_WAIT_MS', undefined, 1, 3_600_000),
  };
}

/**
 * The store URL for the log, without a password.
 * @param {string} url
 * @returns {string}
 */
function describeStore(url) {
  return url.replace(/(\/\/[^/@:]*:)[^/@]*@/, '$1***@');
}

/**
 * Make sure SESSION_SECRET is set before any worker starts. A secret made here is put in
 * the environment the workers inherit, so every worker signs and verifies alike.
 */
function ensureSecret() {
  if (process.env.SESSION_SECRET) return;
  process.env.SESSION_SECRET = randomBytes(32).toString('base64url');
  console.warn(
    'demo: SESSION_SECRET is not set, so this run signs cookies with a random secret made at startup;\n' +
      '      sessions will not survive a restart. Outside a demo, always set SESSION_SECRET.',
  );
}

/**
 * @param {DemoConfig} config
 * @param {number} port
 */
function announce(config, port) {
  const workers = config.workers === 1 ? '1 process' : `${config.workers} workers`;
  console.log(`The Daily Lease (sessionlock demo): http://${config.host}:${port}/ · ${workers} · store ${describeStore(config.store)}`);
}

/**
 * One HTTP server with its session manager; closes both on SIGINT/SIGTERM.
 * @param {DemoConfig} config
 * @returns {Promise<number>} the port it listens on
 */
async function runServer(config) {
  const manager = createSessionManager({
    store: config.store,
    secret: process.env.SESSION_SECRET,
    // Unset ones stay undefined, so the library's defaults apply.
    lock: { leaseMs: config.leaseMs, waitMs: config.waitMs },
  });
  manager.on('error', (error) => console.error(`demo[${process.pid}]: session error off the request path:`, error));
  // A wrong store URL should stop the demo now, not fail its first request.
  await manager.store();
  const server = createServer(
    createDemoListener(manager, {
      onError: (error, req) => console.error(`demo[${process.pid}]: ${req.method} ${req.url?.split('?')[0]}:`, error),
    }),
  );
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve(undefined));
  });

  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      manager.close().then(
        () => process.exit(0),
        (error) => {
          console.error(`demo[${process.pid}]: closing the store failed:`, error);
          process.exit(1);
        },
      );
    });
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : config.port;
}

/**
 * The cluster primary: forks the workers, announces once they all listen, forks a new
 * worker when one dies, and stops them all on SIGINT/SIGTERM.
 * @param {DemoConfig} config
 */
function runPrimary(config) {
  /** @type {Set<number>} ids of workers that got as far as listening */
  const listened = new Set();
  /** @type {Set<import('node:cluster').Worker>} */
  const live = new Set();
  let announced = false;
  let stopping = false;
  let exitCode = 0;

  const fork = () => live.add(cluster.fork());
  /** @param {number} code */
  const stop = (code) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    if (live.size === 0) process.exit(code);
    for (const worker of live) worker.process.kill('SIGTERM');
    setTimeout(() => {
      for (const worker of live) worker.process.kill('SIGKILL');
      process.exit(code);
    }, SHUTDOWN_GRACE_MS + 2000).unref();
  };

  cluster.on('listening', (worker, address) => {
    listened.add(worker.id);
    if (!announced && listened.size >= config.workers) {
      announced = true;
      announce(config, address.port);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker);
    if (stopping) {
      if (live.size === 0) process.exit(exitCode);
      return;
    }
    if (!listened.has(worker.id)) {
      // Dying before listening means bad configuration: re-forking would only loop.
      console.error(`demo: worker ${worker.process.pid} exited before it could serve (code ${code}); stopping`);
      stop(1);
      return;
    }
    console.warn(`demo: worker ${worker.process.pid} died (${signal ?? `exit code ${code}`}); starting a new one`);
    fork();
  });
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  for (let i = 0; i < config.workers; i += 1) fork();
}

try {
  const config = readConfig();
  if (cluster.isWorker) {
    await runServer(config);
  } else {
    ensureSecret();
    if (config.workers > 1) runPrimary(config);
    else announce(config, await runServer(config));
  }
} catch (error) {
  // A bad setting needs only its message; anything else, the whole error with its cause.
  console.error('demo: cannot start:', error instanceof RangeError ? error.message : error);
  process.exit(1);
}
