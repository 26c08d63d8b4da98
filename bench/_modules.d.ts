// Minimal types for the benchmark's untyped dependencies: only what the harness calls.

declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  /** One autocannon connection; `setupClient` receives it once, before it connects. */
  interface Client extends EventEmitter {
    setHeaders(headers: Record<string, string>): void;
  }

  interface Histogram {
    average: number;
    mean: number;
    min: number;
    max: number;
    p50: number;
    p90: number;
    p99: number;
    total: number;
  }

  interface Options {
    url: string;
    method?: string;
    connections?: number;
    duration?: number;
    timeout?: number;
    headers?: Record<string, string>;
    setupClient?: (client: Client) => void;
  }

  interface Result {
    requests: Histogram;
    latency: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
    duration: number;
  }

  function autocannon(options: autocannon.Options): Promise<autocannon.Result>;
  namespace autocannon {
    export type { Client, Histogram, Options, Result };
  }
  export default autocannon;
}

declare module 'session-file-store' {
  import type session from 'express-session';

  type FileStoreClass = new (options: { path: string; logFn?: (message: string) => void }) => session.Store;
  export default function createFileStore(sessionModule: typeof session): FileStoreClass;
}

declare module 'connect-pg-simple' {
  import type session from 'express-session';
  import type { Pool } from 'pg';

  type PgStoreClass = new (options: { pool: Pool; createTableIfMissing?: boolean; tableName?: string }) => session.Store & {
    close(): void;
  };
  export default function createPgStore(sessionModule: typeof session): PgStoreClass;
}

declare module 'better-sqlite3-session-store' {
  import type session from 'express-session';
  import type { Database } from 'better-sqlite3';

  type SqliteStoreClass = new (options: {
    client: Database;
    expired?: { clear?: boolean; intervalMs?: number };
  }) => session.Store;
  export default function createSqliteStore(sessionModule: typeof session): SqliteStoreClass;
}

declare module 'express-mysql-session' {
  import type session from 'express-session';
  import type { Pool } from 'mysql2/promise';

  type MySqlStoreClass = new (options: { schema?: { tableName?: string } }, connection?: Pool) => session.Store & {
    onReady(): Promise<void>;
  };
  export default function createMySqlStore(sessionModule: typeof session): MySqlStoreClass;
}

declare module 'connect-memcached' {
  import type session from 'express-session';

  type MemcachedStoreClass = new (options: { hosts: string[]; prefix?: string }) => session.Store;
  export default function createMemcachedStore(sessionModule: typeof session): MemcachedStoreClass;
}
