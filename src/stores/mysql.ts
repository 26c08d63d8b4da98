import mysql from 'mysql2/promise';
import type { Pool as CorePool, PoolConnection as CorePoolConnection, ResultSetHeader } from 'mysql2';
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
  /**
   * Take the lease and load the row with one `INSERT … ON DUPLICATE KEY UPDATE …
   * RETURNING` (MariaDB 10.5 and later) instead of an `UPDATE` and a `SELECT`, which
   * saves MariaDB about a fifth of its work per request. A key with no row then gets an
   * expired placeholder row, which reads as missing and which the sweep removes.
   * `true` on a server without `RETURNING` fails at first use with a `ConfigError`.
   * @default true on MariaDB 10.5+, false on MySQL (read from `VERSION()` at first use)
   */
  returning?: boolean;
}

const capabilities: StoreCapabilities = {
  crossProcess: true,
  crossHost: true,
  nativeExpiry: false,
  // No server push: waiters in other processes poll with jittered backoff.
  notifications: false,
};

/** `migrate<N>` in native/mysql.sql brings schema version N-1 to N. */
const MIGRATIONS = [positional(native.migrate1)] as const;

/** MySQL's duplicate-key error number: `create` found an existing record. */
const ER_DUP_ENTRY = 1062;

type Params = Record<string, string | number | null>;
/** The callback API of a mysql2 pool or connection: the promise API captures a stack trace per query. */
type Queryable = Pick<CorePool, 'query'>;

/** A statement with positional placeholders and the parameter names they take, in order. */
interface Statement {
  readonly sql: string;
  readonly names: readonly string[];
}

/**
 * Turns `:name` placeholders into `?` once, so mysql2 does not convert the named form on
 * every query (a cost measured in each request).
 */
function positional(text: string): Statement {
  const names: string[] = [];
  const sql = text.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_match, name: string) => {
    names.push(name);
    return '?';
  });
  return { sql, names };
}

const statements = Object.fromEntries(Object.entries(native).map(([name, text]) => [name, positional(text)])) as Record<
  keyof typeof native,
  Statement
>;

/** Acquire's UPDATE and the SELECT that loads the row, as one query for pools that allow it. */
const ACQUIRE_AND_LOAD = positional(`${native.acquire};\n${native.load}`);

/** Runs one statement; resolves with mysql2's result (rows, an OK packet, or one per statement). */
function send<R>(on: Queryable, statement: Statement, params: Params): Promise<R> {
  const values = statement.names.map((name) => {
    if (!(name in params)) throw new TypeError(`mysql store: no value for :${name}`);
    return params[name];
  });
  return new Promise((resolve, reject) => {
    on.query(statement.sql, values, (error, result) => {
      if (error) reject(error);
      else resolve(result as R);
    });
  });
}

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

/** A placeholder row (version 0) left by acquireReturning counts as no row. */
function toLeaseState(row: ProbeRow | undefined): LeaseState | undefined {
  return row === undefined || Number(row.version) === 0
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

/** True for MariaDB 10.5 and later, from `VERSION()` (e.g. `10.11.6-MariaDB-0+deb12u1`). */
function hasReturning(version: string): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version);
  if (match === null || !/mariadb/i.test(version)) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 10 || (major === 10 && minor >= 5);
}

/**
 * Sessions in MySQL 8 or MariaDB 10.5+ (InnoDB), shared by every process and host that
 * reaches the database. Leases live in the session row and every write is one
 * conditional statement fenced by the lease token (or the version). Acquire takes the
 * lease and loads the row in one `INSERT … RETURNING` on MariaDB, and as an `UPDATE`
 * followed by a `SELECT` on the same connection on MySQL. Leases and expiry run on the
 * database's clock.
 *
 * @example
 * ```ts
 * import { createMysqlStore } from 'sessionlock/stores/mysql';
 * const sessions = createSessionManager({ store: createMysqlStore({ url: 'mysql://app:secret@db/app' }), secret });
 * ```
 */
export function createMysqlStore(options: MysqlStoreOptions): SessionStore {
  const pool = poolFrom(options);
  const core = pool.pool;
  const ownsPool = options.pool === undefined;
  const oneTripAcquire = allowsMultipleStatements(pool);
  let useReturning = options.returning === true;

  /** Runs `body` on one pooled connection, so a statement and its follow-up share it. */
  async function withConnection<T>(body: (connection: CorePoolConnection) => Promise<T>): Promise<T> {
    const connection = await new Promise<CorePoolConnection>((resolve, reject) => {
      core.getConnection((error, got) => (error ? reject(error) : resolve(got)));
    });
    try {
      return await body(connection);
    } finally {
      connection.release();
    }
  }

  function migrate(): Promise<void> {
    return withConnection(async (connection) => {
      const [lock] = await send<{ locked: number | null }[]>(connection, statements.lockSchema, {});
      if (Number(lock?.locked) !== 1) throw new Error('timed out waiting for another process to set the sessionlock schema up');
      try {
        // DDL commits by itself in MySQL: the named lock, not a transaction, keeps starters apart.
        await send(connection, statements.schemaVersionTable, {});
        const [row] = await send<{ version: number }[]>(connection, statements.schemaVersion, {});
        const current = row?.version ?? 0;
        if (current > MIGRATIONS.length) {
          throw new ConfigError(`the sessionlock tables are at schema version ${current}, newer than this library (${MIGRATIONS.length})`);
        }
        for (const step of MIGRATIONS.slice(current)) await send(connection, step, {});
        if (current < MIGRATIONS.length) await send(connection, statements.setSchemaVersion, { version: MIGRATIONS.length });
      } finally {
        await send(connection, statements.unlockSchema, {});
      }
    });
  }

  /** Reads which acquire the server supports, then sets the schema up unless told not to. */
  async function prepare(): Promise<void> {
    const [row] = await send<{ version: string }[]>(core, statements.serverVersion, {});
    const supported = hasReturning(String(row?.version ?? ''));
    if (options.returning === true && !supported) {
      throw new ConfigError(`returning: true needs MariaDB 10.5 or later; the server is ${String(row?.version)}`);
    }
    useReturning = options.returning ?? supported;
    if (options.migrate !== false) await migrate();
  }

  /** Runs once before the first statement; a failure (database down) is retried by the next call. */
  const ready = onceUntilSuccess(prepare);

  async function probe(key: string): Promise<{ state: LeaseState | undefined; now: number }> {
    const [row] = await send<ProbeRow[]>(core, statements.probe, { id: key });
    return { state: toLeaseState(row), now: row === undefined ? 0 : Number(row.now_ms) };
  }

  async function refused(key: string, guard: WriteGuard): Promise<WriteResult> {
    const { state, now } = await probe(key);
    return explainRefusal(state, guard, now);
  }

  async function create(key: string, op: Extract<WriteOp, { kind: 'save' }>): Promise<WriteResult> {
    if (op.data === undefined || op.expiresAt === undefined) throw new TypeError('a new record needs data and an expiry');
    const params = { id: key, data: op.data, created_at: op.createdAt ?? Date.now(), expires_at: op.expiresAt };
    try {
      await send(core, statements.create, params);
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const claimed = await send<ResultSetHeader>(core, statements.claimPlaceholder, params);
      if (claimed.affectedRows === 0) return { status: 'conflict' };
    }
    return { status: 'ok', version: 1 };
  }

  async function save(key: string, guard: WriteGuard, op: Extract<WriteOp, { kind: 'save' }>): Promise<WriteResult> {
    if (guard.kind === 'create') return create(key, op);
    const data = op.data ?? null;
    const expiresAt = op.expiresAt ?? null;
    const plainSave = op.data !== undefined && op.expiresAt === undefined && op.holdMs === undefined;
    const written =
      guard.kind === 'lease'
        ? await send<ResultSetHeader>(core, plainSave ? statements.saveLeasedData : statements.saveLeased, {
            id: key,
            token: guard.token,
            data,
            expires_at: expiresAt,
            hold_ms: op.holdMs ?? null,
          })
        : guard.kind === 'version'
          ? await send<ResultSetHeader>(core, statements.saveVersioned, { id: key, version: guard.version, data, expires_at: expiresAt })
          : await send<ResultSetHeader>(core, statements.saveExisting, { id: key, data, expires_at: expiresAt });
    // insertId carries LAST_INSERT_ID(new version); 0 when the guard matched no row.
    const version = Number(written.insertId);
    if (version === 0) return refused(key, guard);
    if (guard.kind !== 'lease' || op.holdMs === undefined) return { status: 'ok', version };
    const [held] = await send<{ lease_until: number | string }[]>(core, statements.leaseUntil, { id: key, token: guard.token });
    return held === undefined ? { status: 'ok', version } : { status: 'ok', version, leaseUntil: Number(held.lease_until) };
  }

  async function removeOrRelease(key: string, guard: WriteGuard, op: WriteOp): Promise<WriteResult> {
    const token = guard.kind === 'lease' ? guard.token : null;
    const result =
      op.kind === 'release'
        ? await send<ResultSetHeader>(core, statements.release, { id: key, token })
        : guard.kind === 'lease'
          ? await send<ResultSetHeader>(core, statements.deleteLeased, { id: key, token: guard.token })
          : guard.kind === 'version'
            ? await send<ResultSetHeader>(core, statements.deleteVersioned, { id: key, version: guard.version })
            : await send<ResultSetHeader>(core, statements.deleteExisting, { id: key });
    return result.affectedRows > 0 ? { status: 'ok' } : refused(key, guard);
  }

  /** Takes the lease if it can and loads the row, in one round trip where the server or pool allows. */
  async function takeAndLoad(key: string, token: string, leaseMs: number): Promise<LoadRow | undefined> {
    const params = { id: key, token, lease_ms: leaseMs };
    if (useReturning) return (await send<LoadRow[]>(core, statements.acquireReturning, params))[0];
    if (oneTripAcquire) return (await send<LoadRow[][]>(core, ACQUIRE_AND_LOAD, params))[1]?.[0];
    return withConnection(async (connection) => {
      await send(connection, statements.acquire, params);
      return (await send<LoadRow[]>(connection, statements.load, { id: key }))[0];
    });
  }

  return {
    name: 'mysql',
    capabilities,
    async acquire(key, token, leaseMs): Promise<AcquireResult> {
      await ready();
      const row = await takeAndLoad(key, token, leaseMs);
      // The row is read in the statement that took the lease, or right after it on the same
      // connection: the lease is ours exactly when the row carries our token, so a racing
      // acquire can never make us load someone else's lease; otherwise the row says why
      // (missing, expired, busy).
      if (row !== undefined && row.lease_token === token) {
        return { status: 'acquired', record: toRecord(row), lease: { token, until: Number(row.lease_until) } };
      }
      return explainBusy(toLeaseState(row), row === undefined ? 0 : Number(row.now_ms));
    },
    async read(key) {
      await ready();
      const [row] = await send<LoadRow[]>(core, statements.read, { id: key });
      return row === undefined ? null : toRecord(row);
    },
    async write(key, guard, op) {
      await ready();
      return op.kind === 'save' ? save(key, guard, op) : removeOrRelease(key, guard, op);
    },
    async renew(key, token, leaseMs) {
      await ready();
      const result = await send<ResultSetHeader>(core, statements.renew, { id: key, token, lease_ms: leaseMs });
      return Number(result.insertId) > 0;
    },
    async sweep({ graceMs, limit }) {
      await ready();
      const result = await send<ResultSetHeader>(core, statements.sweep, { grace_ms: graceMs, limit });
      return { deleted: result.affectedRows, more: result.affectedRows >= limit };
    },
    async close() {
      if (ownsPool) await pool.end();
    },
  };
}
