import { ConfigError } from '../errors.js';
import type { SessionStore } from './types.js';

type StoreFactory = (url: string) => Promise<SessionStore>;

/**
 * Store URL schemes. Each factory loads its module (and driver) only when used, so an
 * app pays only for the driver it chose.
 */
const factories: Record<string, StoreFactory> = {
  'memory:': async () => (await import('./memory.js')).createMemoryStore(),
  'sqlite:': async (url) => (await import('./sqlite.js')).createSqliteStore({ path: pathOf(url) }),
  'file:': async (url) => (await import('./file.js')).createFileStore({ dir: pathOf(url) }),
  'redis:': async (url) => (await import('./redis.js')).createRedisStore({ url }),
  'rediss:': async (url) => (await import('./redis.js')).createRedisStore({ url }),
  'memcached:': async (url) => (await import('./memcached.js')).createMemcachedStore({ url }),
  'postgres:': async (url) => (await import('./postgres.js')).createPostgresStore({ url }),
  'postgresql:': async (url) => (await import('./postgres.js')).createPostgresStore({ url }),
  'mysql:': async (url) => (await import('./mysql.js')).createMysqlStore({ url }),
  'mariadb:': async (url) => (await import('./mysql.js')).createMysqlStore({ url }),
};

const SCHEME = /^([a-z][a-z0-9+.-]*:)/i;

/**
 * The path of a `sqlite:PATH` or `file:PATH` URL, read from the raw string (WHATWG URL
 * parsing would turn `file:./x` into `/x`): relative paths stay relative to the working
 * directory, and `scheme:///abs` means `/abs`.
 */
export function pathOf(url: string): string {
  const scheme = SCHEME.exec(url)?.[1] ?? '';
  const path = decodeURIComponent(url.slice(scheme.length).replace(/^\/\/(?=\/)/, ''));
  if (path === '') throw new ConfigError(`a ${scheme} store URL needs a path`);
  return path;
}

/**
 * Create a store from a URL: `memory:`, `sqlite:PATH` (`sqlite::memory:` for a private
 * in-memory database), `file:DIR`, `postgres://…` / `postgresql://…` (needs `pg`),
 * `mysql://…` / `mariadb://…` (needs `mysql2`).
 *
 * @example
 * ```ts
 * const store = await createStore('sqlite:./data/sessions.db');
 * ```
 */
export async function createStore(url: string): Promise<SessionStore> {
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  const factory = scheme === undefined ? undefined : factories[scheme];
  if (factory === undefined) {
    throw new ConfigError(`the store URL has no known scheme (known: ${Object.keys(factories).join(' ')})`);
  }
  return factory(url);
}
