import mysql from 'mysql2/promise';
import { ConfigError } from '../errors.js';
import { native } from './_native/mysql.js';
import { onceUntilSuccess } from './_once.js';
import { explainBusy, explainRefusal, type LeaseState } from './_lease-record.js';
import type { AcquireResult, SessionStore, StoreCapabilities, StoredRecord, WriteGuard, WriteOp, WriteResult } from './types.js';

/** Options of the MySQL / MariaDB store. Give `url` or `pool`. */
export interface MysqlStoreOptions {
  /** A `mysql://` or `mariadb://` connection URL; the store opens (and closes) its own pool. */
  url?: string;
  /** A mysql2 promise pool to use instead of `url`. The store never closes it. */
  pool?: mysql.Pool;
  /** Connections of the pool the store opens from `url`. @default 10 */
  poolSize?: number;
  /**
   * Create or migrate the tables at first use, under `GET_LOCK` so processes starting
   * together do it once. Turn off when the schema is applied from `native/mysql.sql`
   * by hand (the store then needs no DDL rights). @default true
   */
  migrate?: boolean;
}

const capabilities: StoreCapabilities = {
  crossProcess: true,
  crossHost: true,
  nativeExpiry: false,
  // No server push: waiters in other processes poll with jittered backoff.
  notifications: false,
};

/** `migrate<N>` in native/mysql.sql brings schema version N-1 to N. */
const MIGRATIONS = [native.migrate1] as const;

/** MySQL's duplicate-key error number: `create` found an existing record. */
const ER_DUP_ENTRY = 1062;

type Params = Record<string, string | number | null>;
type Executor = Pick<mysql.Pool, 'query'>;

interface ProbeRow {
  expires_at: number | string;
  version: number | string;
  lease_token: string | null;
  lease_until: number | string;
  now_ms: number | string;
}

interface LoadRow extends ProbeRow {
  data: string;
  created_at: number | string;
}

/** Runs one named-placeholder statement. BIGINTs may come back as strings with some pool settings. */
async function rows<R>(on: Executor, sql: string, params: Params): Promise<R[]> {
  const [result] = await on.query<mysql.RowDataPacket[]>({ sql, namedPlaceholders: true }, params);
  return result as unknown as R[];
}

async function change(on: Executor, sql: string, params: Params): Promise<mysql.ResultSetHeader> {
  const [result] = await on.query<mysql.ResultSetHeader>({ sql, namedPlaceholders: true }, params);
  return result;
}

function toLeaseState(row: ProbeRow | undefined): LeaseState | undefined {
  return row === undefined
    ? undefined
    : {
        expiresAt: Number(row.expires_at),
        version: Number(row.version),
        leaseToken: row.lease_token,
        leaseUntil: Number(row.lease_until),
      };
}

function toRecord(row: Omit<LoadRow, 'lease_token' | 'lease_until' | 'now_ms'>): StoredRecord {
  return {
    data: row.data,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    version: Number(row.version),
  };
}

function isDuplicateKey(error: unknown): boolean {
  return (error as { errno?: unknown } | null)?.errno === ER_DUP_ENTRY;
}

function poolFrom(options: MysqlStoreOptions): mysql.Pool {
  if (options.pool !== undefined) return options.pool;
  const url = options.url;
  if (url === undefined || !/^(?:mysql|mariadb):\/\//i.test(url)) {
    throw new ConfigError('the mysql store needs a mysql:// or mariadb:// URL or a mysql2 pool');
  }
  // mysql2 reads host, port, credentials and database from the URL; the scheme only picks this store.
  const uri = url.replace(/^mariadb:/i, 'mysql:');
  // Several statements per query let acquire send its UPDATE and SELECT in one round
  // trip. Safe here: every statement is fixed text and every value is escaped by mysql2.
  return mysql.createPool({ uri, connectionLimit: options.poolSize ?? 10, multipleStatements: true });
}

/** True when the pool's connections accept several statements per query (mysql2 keeps its settings here). */
function allowsMultipleStatements(pool: mysql.Pool): boolean {
  const config = (pool.pool as unknown as { config?: { connectionConfig?: { multipleStatements?: unknown } } }).config;
  return config?.connectionConfig?.multipleStatements === true;
}

/** Acquire's UPDATE and the SELECT that loads the row, as one query for pools that allow it. */
const ACQUIRE_AND_LOAD = `${native.acquire};\n${native.load}`;

/**
 * Sessions in MySQL 8 or MariaDB 10.5+ (InnoDB), shared by every process and host that
 * reaches the database. Leases live in the session row and every write is one
 * conditional statement fenced by the lease token (or the version); acquire is an
 * `UPDATE` that takes the lease followed by a `SELECT` on the same connection. Leases
 * and expiry run on the database's clock.
 *
 * @example
 * ```ts
 * import { createMysqlStore } from 'sessionlock/stores/mysql';
 * const sessions = createSessionManager({ store: createMysqlStore({ url: 'mysql://app:secret@db/app' }), secret });
 * ```
 */
export function createMysqlStore(options: MysqlStoreOptions): SessionStore {
  const pool = poolFrom(options);
  const ownsPool = options.pool === undefined;
  const oneTripAcquire = allowsMultipleStatements(pool);

  async function migrate(): Promise<void> {
    const connection = await pool.getConnection();
    try {
      const [lock] = await rows<{ locked: number | null }>(connection, native.lockSchema, {});
      if (Number(lock?.locked) !== 1) throw new Error('timed out waiting for another process to set the sessionlock schema up');
      try {
        // DDL commits by itself in MySQL: the named lock, not a transaction, keeps starters apart.
        await change(connection, native.schemaVersionTable, {});
        const [row] = await rows<{ version: number }>(connection, native.schemaVersion, {});
        const current = row?.version ?? 0;
        if (current > MIGRATIONS.length) {
          throw new ConfigError(`the sessionlock tables are at schema version ${current}, newer than this library (${MIGRATIONS.length})`);
        }
        for (const step of MIGRATIONS.slice(current)) await change(connection, step, {});
        if (current < MIGRATIONS.length) await change(connection, native.setSchemaVersion, { version: MIGRATIONS.length });
      } finally {
        await rows(connection, native.unlockSchema, {});
      }
    } finally {
      connection.release();
    }
  }

  /** Sets the schema up once; a failure (database down) is retried by the next call. */
  const ready = onceUntilSuccess(migrate, options.migrate === false);

  /** Runs `body` on one pooled connection, so a statement and its follow-up share it. */
  async function withConnection<T>(body: (connection: mysql.PoolConnection) => Promise<T>): Promise<T> {
    await ready();
    const connection = await pool.getConnection();
    try {
      return await body(connection);
    } finally {
      connection.release();
    }
  }

  async function probe(on: Executor, key: string): Promise<{ state: LeaseState | undefined; now: number }> {
    const [row] = await rows<ProbeRow>(on, native.probe, { id: key });
    return { state: toLeaseState(row), now: row === undefined ? 0 : Number(row.now_ms) };
  }

  async function refused(on: Executor, key: string, guard: WriteGuard): Promise<WriteResult> {
    const { state, now } = await probe(on, key);
    return explainRefusal(state, guard, now);
  }

  async function save(on: mysql.PoolConnection, key: string, guard: WriteGuard, op: Extract<WriteOp, { kind: 'save' }>): Promise<WriteResult> {
    const data = op.data ?? null;
    const expiresAt = op.expiresAt ?? null;
    if (guard.kind === 'create') {
      if (op.data === undefined || op.expiresAt === undefined) throw new TypeError('a new record needs data and an expiry');
      try {
        await change(on, native.create, { id: key, data: op.data, created_at: op.createdAt ?? Date.now(), expires_at: op.expiresAt });
      } catch (error) {
        if (isDuplicateKey(error)) return { status: 'conflict' };
        throw error;
      }
      return { status: 'ok', version: 1 };
    }
    const written =
      guard.kind === 'lease'
        ? await change(on, native.saveLeased, { id: key, token: guard.token, data, expires_at: expiresAt, hold_ms: op.holdMs ?? null })
        : guard.kind === 'version'
          ? await change(on, native.saveVersioned, { id: key, version: guard.version, data, expires_at: expiresAt })
          : await change(on, native.saveExisting, { id: key, data, expires_at: expiresAt });
    // insertId carries LAST_INSERT_ID(new version); 0 when the guard matched no row.
    const version = Number(written.insertId);
    if (version === 0) return refused(on, key, guard);
    if (guard.kind !== 'lease' || op.holdMs === undefined) return { status: 'ok', version };
    const [held] = await rows<{ lease_until: number | string }>(on, native.leaseUntil, { id: key, token: guard.token });
    return held === undefined ? { status: 'ok', version } : { status: 'ok', version, leaseUntil: Number(held.lease_until) };
  }

  async function removeOrRelease(on: mysql.PoolConnection, key: string, guard: WriteGuard, op: WriteOp): Promise<WriteResult> {
    const token = guard.kind === 'lease' ? guard.token : null;
    const result =
      op.kind === 'release'
        ? await change(on, native.release, { id: key, token })
        : guard.kind === 'lease'
          ? await change(on, native.deleteLeased, { id: key, token: guard.token })
          : guard.kind === 'version'
            ? await change(on, native.deleteVersioned, { id: key, version: guard.version })
            : await change(on, native.deleteExisting, { id: key });
    return result.affectedRows > 0 ? { status: 'ok' } : refused(on, key, guard);
  }

  return {
    name: 'mysql',
    capabilities,
    async acquire(key, token, leaseMs): Promise<AcquireResult> {
      const params = { id: key, token, lease_ms: leaseMs };
      let row: LoadRow | undefined;
      if (oneTripAcquire) {
        await ready();
        const [results] = await pool.query<mysql.RowDataPacket[][]>({ sql: ACQUIRE_AND_LOAD, namedPlaceholders: true }, params);
        row = (results[1] as unknown as LoadRow[] | undefined)?.[0];
      } else {
        row = await withConnection(async (connection) => {
          await change(connection, native.acquire, params);
          return (await rows<LoadRow>(connection, native.load, { id: key }))[0];
        });
      }
      // The load follows the UPDATE on the same connection: the lease is ours exactly when
      // the row carries our token, so a racing acquire can never make us load someone
      // else's lease; otherwise the row says why (missing, expired, busy).
      if (row !== undefined && row.lease_token === token) {
        return { status: 'acquired', record: toRecord(row), lease: { token, until: Number(row.lease_until) } };
      }
      return explainBusy(toLeaseState(row), row === undefined ? 0 : Number(row.now_ms));
    },
    async read(key) {
      await ready();
      const [row] = await rows<LoadRow>(pool, native.read, { id: key });
      return row === undefined ? null : toRecord(row);
    },
    write(key, guard, op) {
      return withConnection((connection) =>
        op.kind === 'save' ? save(connection, key, guard, op) : removeOrRelease(connection, key, guard, op),
      );
    },
    async renew(key, token, leaseMs) {
      await ready();
      const result = await change(pool, native.renew, { id: key, token, lease_ms: leaseMs });
      return Number(result.insertId) > 0;
    },
    async sweep({ graceMs, limit }) {
      await ready();
      const result = await change(pool, native.sweep, { grace_ms: graceMs, limit });
      return { deleted: result.affectedRows, more: result.affectedRows >= limit };
    },
    async close() {
      if (ownsPool) await pool.end();
    },
  };
}
