// Starts the servers the selected test files need, once per `npm test` run, and hands
// their URLs to the test processes in environment variables. A variable the user set
// already wins: their server is used and nothing is started for it.
import { readFileSync } from 'node:fs';
import { startMariadb } from './mariadb.js';
import { startMemcached } from './memcached.js';
import { startPostgres } from './postgres.js';
import { startRedisCluster } from './redis-cluster.js';
import { startRedis } from './redis.js';
import { SERVICE_ENV, SERVICE_ERROR_ENV, SERVICE_NAMES, type ServiceName } from './names.js';

export { SERVICE_ENV, SERVICE_NAMES, type ServiceName } from './names.js';

/** The running services of one test run. */
export interface Services {
  /** Environment variables for the test processes (URL per service, error per failed one). */
  readonly env: Readonly<Record<string, string>>;
  /** Stop every server this run started. Idempotent. */
  stop(): Promise<void>;
}

interface Started {
  readonly value: string;
  stop(): Promise<void>;
}

const starters: Record<ServiceName, () => Promise<Started>> = {
  redis: async () => {
    const redis = await startRedis();
    return { value: redis.url, stop: () => redis.stop() };
  },
  'redis-cluster': async () => {
    const cluster = await startRedisCluster();
    return { value: cluster.urls.join(','), stop: () => cluster.stop() };
  },
  postgres: async () => {
    const postgres = await startPostgres();
    return { value: postgres.url, stop: () => postgres.stop() };
  },
  mysql: async () => {
    const mariadb = await startMariadb();
    return { value: mariadb.url, stop: () => mariadb.stop() };
  },
  memcached: async () => {
    const memcached = await startMemcached();
    return { value: memcached.url, stop: () => memcached.stop() };
  },
};

/**
 * The services the given test files ask for, found by their calls of
 * `requireServiceUrl('<name>')` / `requireServiceUrls('<name>')` or a
 * `// services: a, b` comment (for files that reach a service through a helper).
 */
export function servicesUsedBy(files: readonly string[]): ServiceName[] {
  const found = new Set<ServiceName>();
  const known = new Set<string>(SERVICE_NAMES);
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/requireServiceUrls?\(\s*['"]([a-z-]+)['"]/g)) {
      if (match[1] !== undefined && known.has(match[1])) found.add(match[1] as ServiceName);
    }
    for (const match of text.matchAll(/^\s*\/\/ services: ([a-z, -]+)$/gm)) {
      for (const name of (match[1] ?? '').split(',').map((part) => part.trim())) {
        if (known.has(name)) found.add(name as ServiceName);
      }
    }
  }
  return SERVICE_NAMES.filter((name) => found.has(name));
}

/**
 * Start the named services in parallel (skipping those whose URL variable is already
 * set), also set their variables in this process, and stop them on SIGINT/SIGTERM.
 * A service that fails to start fails the run under `CI=true`; otherwise its error is
 * passed down so every test that needs it fails with that message. Nothing is skipped.
 */
export async function startServices(names: readonly ServiceName[]): Promise<Services> {
  const env: Record<string, string> = {};
  const running: Started[] = [];
  const startedAt = Date.now();
  const outcomes = await Promise.allSettled(
    names.map(async (name) => {
      const preset = process.env[SERVICE_ENV[name]];
      if (preset !== undefined && preset !== '') return;
      const started = await starters[name]();
      running.push(started);
      env[SERVICE_ENV[name]] = started.value;
    }),
  );
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= Promise.all(running.map((service) => service.stop())).then(() => undefined);
    return stopping;
  };
  const failures: string[] = [];
  outcomes.forEach((outcome, index) => {
    const name = names[index] as ServiceName;
    if (outcome.status === 'rejected') {
      const message = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
      failures.push(`${name}: ${message}`);
      env[SERVICE_ERROR_ENV[name]] = message;
    }
  });
  if (failures.length > 0 && process.env.CI === 'true') {
    await stop();
    throw new Error(`test services failed to start (CI=true, so the run fails):\n${failures.join('\n')}`);
  }
  for (const failure of failures) console.error(`test services: ${failure}`);
  if (running.length > 0) console.error(`test services: started ${names.join(', ')} in ${Date.now() - startedAt} ms`);
  Object.assign(process.env, env);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  return { env, stop };
}
