// Every contender of the benchmark, in the order they run (and are interleaved).

/** The sessionlock stores, each run through both adapters. */
export const SESSIONLOCK_STORES = ['memory', 'sqlite', 'file', 'redis', 'postgres', 'mysql', 'memcached'] as const;

/** A sessionlock store name. */
export type StoreName = (typeof SESSIONLOCK_STORES)[number];

/** One contender: a server module of bench/contenders/ and, for sessionlock, its store. */
export interface ContenderSpec {
  /** Unique id, also the label in the report. */
  readonly id: string;
  /** File name in bench/contenders/ without `.ts`. */
  readonly module: string;
  readonly kind: 'ceiling' | 'peer' | 'sessionlock-express' | 'sessionlock-node';
  /** The sessionlock store (sessionlock contenders only). */
  readonly store?: StoreName;
  /** Servers the contender needs, for the harness to start. */
  readonly services: readonly ('redis' | 'postgres' | 'mysql' | 'memcached')[];
}

/** The express-session peer whose store matches each sessionlock store (targets compare them). */
export const PEER_OF_STORE: Record<StoreName, string> = {
  memory: 'express-session + MemoryStore',
  sqlite: 'express-session + better-sqlite3-session-store',
  file: 'express-session + session-file-store',
  redis: 'express-session + connect-redis',
  postgres: 'express-session + connect-pg-simple',
  mysql: 'express-session + express-mysql-session',
  memcached: 'express-session + connect-memcached',
};

/** Id of the bare node:http ceiling. */
export const NODE_HTTP = 'node:http (no session)';
/** Id of the Express-without-session ceiling. */
export const EXPRESS_BARE = 'Express (no session)';

const SERVICE_OF_STORE: Partial<Record<StoreName, 'redis' | 'postgres' | 'mysql' | 'memcached'>> = {
  redis: 'redis',
  postgres: 'postgres',
  mysql: 'mysql',
  memcached: 'memcached',
};

/** The id of a sessionlock contender. */
export function sessionlockId(adapter: 'express' | 'node', store: StoreName): string {
  return `sessionlock ${adapter} + ${store}`;
}

function sessionlock(adapter: 'express' | 'node', store: StoreName): ContenderSpec {
  const service = SERVICE_OF_STORE[store];
  return {
    id: sessionlockId(adapter, store),
    module: `sessionlock-${adapter}`,
    kind: `sessionlock-${adapter}`,
    store,
    services: service === undefined ? [] : [service],
  };
}

/** All contenders. */
export const CONTENDERS: readonly ContenderSpec[] = [
  { id: NODE_HTTP, module: 'node-http', kind: 'ceiling', services: [] },
  { id: EXPRESS_BARE, module: 'express', kind: 'ceiling', services: [] },
  { id: 'express-session + MemoryStore', module: 'express-session-memory', kind: 'peer', services: [] },
  { id: 'express-session + memorystore', module: 'express-session-memorystore', kind: 'peer', services: [] },
  { id: 'express-session + better-sqlite3-session-store', module: 'express-session-sqlite', kind: 'peer', services: [] },
  { id: 'express-session + session-file-store', module: 'express-session-file', kind: 'peer', services: [] },
  { id: 'express-session + connect-redis', module: 'express-session-redis', kind: 'peer', services: ['redis'] },
  { id: 'express-session + connect-pg-simple', module: 'express-session-pg', kind: 'peer', services: ['postgres'] },
  { id: 'express-session + express-mysql-session', module: 'express-session-mysql', kind: 'peer', services: ['mysql'] },
  { id: 'express-session + connect-memcached', module: 'express-session-memcached', kind: 'peer', services: ['memcached'] },
  { id: '@fastify/session (memory)', module: 'fastify-session', kind: 'peer', services: [] },
  ...SESSIONLOCK_STORES.map((store) => sessionlock('express', store)),
  ...SESSIONLOCK_STORES.map((store) => sessionlock('node', store)),
];
