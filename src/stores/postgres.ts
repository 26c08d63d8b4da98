import pg from 'pg';
import { ConfigError } from '../errors.js';
import { native } from './_native/postgres.js';
import { onceUntilSuccess } from './_once.js';
import { PipelinedConnections } from './_pg-pipeline.js';
import { ReleaseListener } from './_pg-listener.js';
import { explainBusy, explainRefusal, type LeaseState } from './_lease-record.js';
import type { AcquireResult, SessionStore, StoreCapabilities, StoredRecord, WriteGuard, WriteOp, WriteResult } from './types.js';

/** Options of the PostgreSQL store. Give `url` or `pool`. */
export interface PostgresStoreOptions {
  /** A `postgres://` or `postgresql://` connection URL; the store opens (and closes) its own connections. */
  url?: string;
  /**
   * A node-postgres pool to use instead of `url`, one statement per pooled connection at
   * a time. The store never closes it.
   */
  pool?: pg.Pool;
  /**
   * With `url`: how many pipelined connections carry the requests' statements. Each
   * carries any number of statements at once, so a few serve a busy process; more let
   * the database work on more of them in parallel. Sweeps and schema set-up use one
   * connection more, opened when first needed. @default 2
   */
  connections?: number;
  /**
   * Create or migrate the tables at first use, under a transaction-scoped advisory lock
   * so processes starting together do it once. Turn off when the schema is applied
   * from `native/postgres.sql` by hand (the store then needs no DDL rights). @default true
   */
  migrate?: boolean;
  /**
   * Wake waiters in this process by `LISTEN/NOTIFY` when another process releases a
   * session they wait for. Costs one extra connection per store, opened on the first
   * busy session. Without it waiters poll. @default true
   */
  notifications?: boolean;
  /** Settings of the listening connection. @default those of `url`, or of `pool` */
  listenerConfig?: pg.ClientConfig;
}

/** The tables this version of the store expects; `migrate<N>` in native/postgres.sql brings version N-1 to N. */
const MIGRATIONS = [native.migrate1, native.migrate2] as const;

type Statement = Exclude<keyof typeof native, 'lockSchema' | 'schemaVersionTable' | 'schemaVersion' | 'setSchemaVersion' | `migrate${number}`>;

/**
 * How long a busy waiter's place as the next holder lasts unless it asks again, in ms:
 * several times the longest pause between a waiter's attempts, so a live waiter keeps
 * it, and a waiter that died without giving it up loses it soon.
 */
const QUEUE_MS = 1_000;

/** node-postgres answers bigint columns as strings (they may pass 2^53); ours are epoch ms and counters, well within. */
type Int8 = string;

interface AcquireRow {
  acquired: boolean;
  data: string | null;
  created_at: Int8;
  expires_at: Int8;
  version: Int8;
  lease_token: string | null;
  lease_until: Int8;
  now_ms: Int8;
}

interface RecordRow {
  data: string;
  created_at: Int8;
  expires_at: Int8;
  version: Int8;
}

interface WriteRow {
  outcome: 'written' | 'refused';
  version: Int8;
  lease_until: Int8;
  /** Only on refused rows, with lease_token and now_ms: the row's state under its lock. */
  expires_at?: Int8 | null;
  lease_token?: string | null;
  now_ms?: Int8;
}

function toRecord(row: RecordRow): StoredRecord {
  return {
    data: row.data,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    version: Number(row.version),
  };
}

function toLeaseState(row: { expires_at?: Int8 | null; version: Int8; lease_token?: string | null; lease_until: Int8 }): LeaseState {
  return {
    expiresAt: Number(row.expires_at),
    version: Number(row.version),
    leaseToken: row.lease_token ?? null,
    leaseUntil: Number(row.lease_until),
  };
}

/** The statement for a guarded write and its parameters, in the order native/postgres.sql lists them. */
function writeCall(key: string, guard: WriteGuard, op: WriteOp): [Statement, unknown[]] {
  const token = guard.kind === 'lease' ? guard.token : null;
  // A release is a leased save that changes nothing, so it hands the lease over like one.
  if (op.kind === 'release') return ['saveLeased', [key, token, null, null, null]];
  if (op.kind === 'delete') {
    if (guard.kind === 'lease') return ['deleteLeased', [key, guard.token]];
    if (guard.kind === 'version') return ['deleteVersioned', [key, guard.version]];
    return ['deleteExisting', [key]];
  }
  const data = op.data ?? null;
  const expiresAt = op.expiresAt ?? null;
  switch (guard.kind) {
    case 'lease':
      return ['saveLeased', [key, guard.token, data, expiresAt, op.holdMs ?? null]];
    case 'version':
      return ['saveVersioned', [key, guard.version, data, expiresAt]];
    case 'exists':
      return ['saveExisting', [key, data, expiresAt]];
    case 'create':
      if (op.data === undefined || op.expiresAt === undefined) throw new TypeError('a new record needs data and an expiry');
      return ['create', [key, op.data, op.createdAt ?? Date.now(), op.expiresAt]];
  }
}

/** Runs one statement; a pg.Pool and the pipelined connections both do. */
interface StatementRunner {
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

/** Where the store's statements go, and what it must close. */
interface Connections {
  /** The statements of requests. */
  readonly requests: StatementRunner;
  /** Schema set-up (a transaction) and sweeps (batches that must not hold up requests). */
  readonly maintenance: pg.Pool;
  /** Settings for the listening connection. */
  readonly clientConfig: pg.ClientConfig;
  close(): Promise<void>;
}

function connectionsFrom(options: PostgresStoreOptions): Connections {
  const { pool } = options;
  if (pool !== undefined) {
    return { requests: pool, maintenance: pool, clientConfig: pool.options as pg.ClientConfig, close: async () => undefined };
  }
  const url = options.url;
  if (url === undefined || !/^postgres(?:ql)?:\/\//i.test(url)) {
    throw new ConfigError('the postgres store needs a postgres:// URL or a pg.Pool');
  }
  const count = options.connections ?? 2;
  if (!Number.isInteger(count) || count < 1) throw new ConfigError('connections must be a whole number of at least 1');
  const clientConfig: pg.ClientConfig = {
    connectionString: url,
    // A bounded connect, so a database that does not answer fails requests instead of
    // queueing them without end.
    connectionTimeoutMillis: 5_000,
    // Generic plans: every statement finds its row by primary key whatever the parameters,
    // and re-planning the CTEs on each call (PostgreSQL's default for the first executions
    // and whenever it judges custom plans cheaper) costs more than running them.
    options: '-c plan_cache_mode=force_generic_plan',
  };
  const requests = new PipelinedConnections(clientConfig, count);
  const maintenance = new pg.Pool({ ...clientConfig, max: 1 });
  // An idle pooled connection that dies (server restart) emits here; the pool drops it
  // and the next query opens a fresh one, whose failure reaches the caller.
  maintenance.on('error', () => undefined);
  return {
    requests,
    maintenance,
    clientConfig,
    close: async () => {
      await Promise.all([requests.end(), maintenance.end()]);
    },
  };
}

/**
 * Sessions in PostgreSQL, shared by every process and host that reaches the database.
 * Each step is one statement and one round trip: acquire+load is an `UPDATE … RETURNING`
 * that takes the lease, every write is fenced by the lease token (or the version) in the
 * same statement, and a refused write reports why from the row it locked. Leases and
 * expiry run on the database's clock. Waiters are woken by `NOTIFY`, sent only when
 * someone waits.
 *
 * @example
 * ```ts
 * import { createPostgresStore } from 'sessionlock/stores/postgres';
 * const sessions = createSessionManager({ store: createPostgresStore({ url: process.env.DATABASE_URL }), secret });
 * ```
 */
export function createPostgresStore(options: PostgresStoreOptions): SessionStore {
  const connections = connectionsFrom(options);
  const { requests, maintenance } = connections;
  const listener =
    options.notifications === false ? undefined : new ReleaseListener(options.listenerConfig ?? connections.clientConfig);
  const capabilities: StoreCapabilities = {
    crossProcess: true,
    crossHost: true,
    nativeExpiry: false,
    notifications: listener !== undefined,
  };


  async function migrate(): Promise<void> {
    const client = await maintenance.connect();
    try {
      await client.query('BEGIN');
      await client.query(native.lockSchema);
      await client.query(native.schemaVersionTable);
      const { rows } = await client.query<{ version: number }>(native.schemaVersion);
      const current = rows[0]?.version ?? 0;
      if (current > MIGRATIONS.length) {
        throw new ConfigError(`the sessionlock tables are at schema version ${current}, newer than this library (${MIGRATIONS.length})`);
      }
      for (const step of MIGRATIONS.slice(current)) await client.query(step);
      if (current < MIGRATIONS.length) await client.query(native.setSchemaVersion, [MIGRATIONS.length]);
      await client.query('COMMIT');
      client.release();
    } catch (error) {
      // Roll back so the connection goes back clean; if even that fails, the pool discards it.
      await client.query('ROLLBACK').then(
        () => client.release(),
        (rollbackError: unknown) => client.release(rollbackError instanceof Error ? rollbackError : true),
      );
      throw error;
    }
  }

  /** Sets the schema up once; a failure (database down) is retried by the next call. */
  const schemaReady = onceUntilSuccess(migrate, options.migrate === false);

  async function run<R extends object>(statement: Statement, values: unknown[]): Promise<R[]> {
    await schemaReady();
    // Named, so each connection parses and plans the statement once.
    const result = await requests.query<R>({ name: `sessionlock_${statement}`, text: native[statement], values });
    return result.rows;
  }

  async function write(key: string, guard: WriteGuard, op: WriteOp): Promise<WriteResult> {
    const [statement, values] = writeCall(key, guard, op);
    const row = (await run<WriteRow>(statement, values))[0];
    // No row at all: the record does not exist (for create: it does, see native/postgres.sql).
    if (row === undefined) return explainRefusal(undefined, guard, 0);
    if (row.outcome === 'refused') return explainRefusal(toLeaseState(row), guard, Number(row.now_ms));
    if (op.kind !== 'save') return { status: 'ok' };
    const version = Number(row.version);
    return op.holdMs === undefined
      ? { status: 'ok', version }
      : { status: 'ok', version, leaseUntil: Number(row.lease_until) };
  }

  return {
    name: 'postgres',
    capabilities,
    async acquire(key, token, leaseMs): Promise<AcquireResult> {
      const row = (await run<AcquireRow>('acquire', [key, token, leaseMs, listener === undefined ? 0 : 1, QUEUE_MS]))[0];
      if (row === undefined || (row.acquired && row.data !== null)) listener?.forget(key, token);
      if (row === undefined) return explainBusy(undefined, 0);
      if (row.acquired && row.data !== null) {
        return {
          status: 'acquired',
          record: toRecord({ ...row, data: row.data }),
          lease: { token, until: Number(row.lease_until) },
        };
      }
      // Counted in `waiters` by the statement: the holder's release will notify us, or
      // hand the lease over to this token.
      listener?.expect(key, token);
      return explainBusy(toLeaseState(row), Number(row.now_ms));
    },
    async read(key) {
      const row = (await run<RecordRow>('read', [key]))[0];
      return row === undefined ? null : toRecord(row);
    },
    write,
    async renew(key, token, leaseMs) {
      return (await run('renew', [key, token, leaseMs])).length > 0;
    },
    async sweep({ graceMs, limit }) {
      await schemaReady();
      const result = await maintenance.query({ name: 'sessionlock_sweep', text: native.sweep, values: [graceMs, limit] });
      const deleted = result.rowCount ?? 0;
      return { deleted, more: deleted >= limit };
    },
    ...(listener === undefined
      ? {}
      : {
          waitForRelease: (key: string, timeoutMs: number, token: string) => listener.wait(key, timeoutMs, token),
          async stopWaiting(key: string, token: string) {
            listener.forget(key, token);
            await run('abandon', [key, token]);
          },
        }),
    async close() {
      await listener?.close();
      await connections.close();
    },
  };
}
