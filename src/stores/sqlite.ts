import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { native } from './_native/sqlite.js';
import { startSqliteWorker, type SqliteWorker } from './_sqlite-worker.js';
import { explainBusy, explainRefusal, type LeaseState } from './_lease-record.js';
import type { AcquireResult, SessionStore, StoreCapabilities, StoredRecord, WriteGuard, WriteOp, WriteResult } from './types.js';

/** Options of the SQLite store. */
export interface SqliteStoreOptions {
  /** Database file, created with its folder if missing; `:memory:` for a private one. */
  path?: string;
  /** An open better-sqlite3 database to use instead; the store never closes it. */
  database?: Database.Database;
  /**
   * How long one statement may wait synchronously for another connection's write lock,
   * in ms. Kept short because it blocks the event loop; past it, the store retries
   * asynchronously with backoff. With the worker, 0: its sweep batches hold the write lock
   * a few ms at a time, and every request meeting one would otherwise wait on the loop, one
   * after another, up to this long each. @default 0 with the worker, else 5
   */
  busyTimeoutMs?: number;
  /** How long the asynchronous retries go on before the error is thrown, in ms. @default 5000 */
  busyRetryMs?: number;
  /**
   * Run WAL checkpoints and sweep batches in a worker thread with its own connection, so
   * neither copying the log into the database (and its fsync) nor a sweep's `DELETE` ever
   * runs on the event loop. Off, SQLite checkpoints automatically inside whichever write
   * passes 1000 pages of log, and sweep batches run on the loop. Only for a file the store
   * opens (`:memory:` and a passed-in `database` have nothing a second connection could
   * share). @default true
   */
  worker?: boolean;
  /** Pause between background checkpoints, in ms. @default 200 */
  checkpointIntervalMs?: number;
  /**
   * Length of the write-ahead log, in pages, from which a background checkpoint makes it
   * start over: it then holds writes back for the few milliseconds it takes to copy the
   * last pages, since under steady writes the log can never be copied to its end without
   * that, and would grow without bound. @default 10000 (about 40 MB with 4 KiB pages)
   */
  checkpointRestartPages?: number;
}

const capabilities: StoreCapabilities = {
  crossProcess: true,
  crossHost: false,
  nativeExpiry: false,
  notifications: false,
};

interface RecordRow {
  data: string;
  created_at: number;
  expires_at: number;
  version: number;
  lease_until: number;
}

interface ProbeRow {
  expires_at: number;
  version: number;
  lease_token: string | null;
  lease_until: number;
}

interface WrittenRow {
  version: number;
  lease_until: number;
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/**
 * Switches a database to WAL and creates the schema. Two processes creating one new file
 * at once can meet in a lock cycle that SQLite answers with SQLITE_BUSY at once, without
 * its busy handler (seen when two bench processes started together), so setup retries
 * until `giveUpMs`. It runs once, at start-up, which is why a blocking pause is acceptable.
 */
function setUpOnce(db: Database.Database, giveUpMs: number): void {
  const giveUpAt = Date.now() + giveUpMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(native.schema);
      return;
    } catch (error) {
      if (!isBusy(error) || Date.now() >= giveUpAt) throw error;
    }
    Atomics.wait(pause, 0, 0, 5 + Math.random() * 20);
  }
}

function toRecord(row: Pick<RecordRow, 'data' | 'created_at' | 'expires_at' | 'version'>): StoredRecord {
  return { data: row.data, createdAt: row.created_at, expiresAt: row.expires_at, version: row.version };
}

function toLeaseState(row: ProbeRow | undefined): LeaseState | undefined {
  return row === undefined
    ? undefined
    : { expiresAt: row.expires_at, version: row.version, leaseToken: row.lease_token, leaseUntil: row.lease_until };
}

/**
 * The embedded default store: one SQLite file in WAL mode, shared by every process of
 * the host. Each operation is one short statement (`UPDATE … RETURNING` takes the lease
 * and loads the data together), and no transaction or file lock is held across a
 * request, so a slow request never blocks other sessions.
 *
 * @example
 * ```ts
 * const sessions = createSessionManager({ store: createSqliteStore({ path: './data/sessions.db' }), secret });
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions = {}): SessionStore {
  const path = options.path ?? './data/sessions.db';
  if (options.database === undefined && path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = options.database ?? new Database(path, { timeout: 5000 });
  const ownsFile = options.database === undefined && path !== ':memory:';
  const useWorker = (options.worker ?? true) && ownsFile;
  const busyTimeoutMs = options.busyTimeoutMs ?? (useWorker ? 0 : 5);
  const busyRetryMs = options.busyRetryMs ?? 5000;
  // Setup may wait for other processes starting at the same moment; requests may not.
  setUpOnce(db, busyRetryMs);
  db.pragma(`busy_timeout = ${Math.floor(busyTimeoutMs)}`);
  let worker: SqliteWorker | undefined;
  // Closed after `db`: see SqliteWorkerOptions.databaseFd.
  let databaseFd: number | undefined;
  if (useWorker) {
    databaseFd = openSync(path, 'r+');
    worker = startSqliteWorker(
      {
        path,
        sweepSql: native.sweep,
        checkpointIntervalMs: options.checkpointIntervalMs ?? 200,
        restartFrames: options.checkpointRestartPages ?? 10_000,
        busyTimeoutMs: busyRetryMs,
        databaseFd,
      },
      (error) => {
        // Never let the log grow unchecked: back to SQLite's own checkpoints, and say so.
        if (db.open) db.pragma('wal_autocheckpoint = 1000');
        process.emitWarning(error);
      },
    );
    db.pragma('wal_autocheckpoint = 0');
  }

  const statements = Object.fromEntries(
    Object.entries(native)
      .filter(([name]) => name !== 'schema')
      .map(([name, sql]) => [name, db.prepare(sql)]),
  ) as Record<Exclude<keyof typeof native, 'schema'>, Database.Statement>;

  /**
   * Runs a statement now, and again later (not blocking the loop) while another connection
   * holds the write lock: when that is this store's own sweep batch, right after it ends;
   * otherwise (another process) after a jittered, growing pause.
   */
  async function run<T>(step: () => T): Promise<T> {
    const giveUpAt = Date.now() + busyRetryMs;
    let pauseMs = 1;
    for (;;) {
      // The worker is restarting the log (see _sqlite-worker.ts): not a statement until it is done.
      const held = worker?.held;
      if (held !== undefined) await held;
      try {
        return step();
      } catch (error) {
        if (!isBusy(error) || Date.now() >= giveUpAt) throw error;
      }
      if (worker?.sweeping === true) {
        await worker.idle(giveUpAt - Date.now());
      } else {
        await sleep(Math.random() * pauseMs);
        pauseMs = Math.min(pauseMs * 2, 50);
      }
    }
  }

  const probe = (id: string): LeaseState | undefined => toLeaseState(statements.probe.get({ id }) as ProbeRow | undefined);

  function writeStatement(guard: WriteGuard, op: WriteOp): Database.Statement {
    if (op.kind === 'release') return statements.release;
    if (op.kind === 'delete') {
      if (guard.kind === 'lease') return statements.deleteLeased;
      if (guard.kind === 'version') return statements.deleteVersioned;
      return statements.deleteExisting;
    }
    switch (guard.kind) {
      case 'lease':
        return statements.saveLeased;
      case 'version':
        return statements.saveVersioned;
      case 'create':
        return statements.create;
      case 'exists':
        return statements.saveExisting;
    }
  }

  function write(id: string, guard: WriteGuard, op: WriteOp): WriteResult {
    const now = Date.now();
    const save = op.kind === 'save' ? op : undefined;
    const row = writeStatement(guard, op).get({
      id,
      now,
      token: guard.kind === 'lease' ? guard.token : null,
      version: guard.kind === 'version' ? guard.version : null,
      data: save?.data ?? null,
      expires_at: save?.expiresAt ?? null,
      created_at: save?.createdAt ?? now,
      hold_ms: save?.holdMs ?? null,
    }) as WrittenRow | undefined;
    if (row === undefined) return explainRefusal(probe(id), guard, now);
    if (op.kind !== 'save') return { status: 'ok' };
    return save?.holdMs === undefined
      ? { status: 'ok', version: row.version }
      : { status: 'ok', version: row.version, leaseUntil: row.lease_until };
  }

  return {
    name: 'sqlite',
    capabilities,
    acquire(id, token, leaseMs) {
      return run((): AcquireResult => {
        const now = Date.now();
        const row = statements.acquire.get({ id, token, now, lease_ms: leaseMs }) as RecordRow | undefined;
        if (row === undefined) return explainBusy(probe(id), now);
        return { status: 'acquired', record: toRecord(row), lease: { token, until: row.lease_until } };
      });
    },
    read(id) {
      return run(() => {
        const row = statements.read.get({ id, now: Date.now() }) as RecordRow | undefined;
        return row === undefined ? null : toRecord(row);
      });
    },
    write(id, guard, op) {
      return run(() => write(id, guard, op));
    },
    renew(id, token, leaseMs) {
      return run(() => statements.renew.get({ id, token, now: Date.now(), lease_ms: leaseMs }) !== undefined);
    },
    async sweep({ graceMs, limit }) {
      if (worker?.running === true) {
        // Off the loop; the worker's connection waits out another writer's lock itself.
        // The instant is read here: a batch that runs a little later is only stricter
        // (a lease that lapsed meanwhile still counts; the cutoff is earlier).
        const { deleted, busyMs, more, yielded } = await worker.sweep(Date.now(), graceMs, limit);
        return { deleted, more, lockMs: busyMs, yielded };
      }
      return run(() => {
        const now = Date.now();
        const { changes } = statements.sweep.run({ now, cutoff: now - graceMs, limit });
        return { deleted: changes, more: changes >= limit };
      });
    },
    async close() {
      await worker?.stop();
      if (options.database === undefined && db.open) db.close();
      if (databaseFd !== undefined) closeSync(databaseFd);
      databaseFd = undefined;
    },
  };
}
