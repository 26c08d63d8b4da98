/**
 * The SQLite store's work that must not run on the event loop, in a worker thread with
 * its own connection. better-sqlite3 has no asynchronous calls, so anything slow it does
 * holds the loop for its whole length:
 *
 * - WAL checkpoints. SQLite's automatic checkpoint runs inside whichever write makes the
 *   log pass 1000 pages, copying the log into the database and fsyncing it; on a busy disk
 *   that held the loop for 100–270 ms at a time while a sweep removed a large backlog. The
 *   worker runs passive checkpoints on a timer instead (they never block other
 *   connections' readers or writers), and the store's connection turns its own off.
 *   Passive checkpoints alone did not bound the log: SQLite starts it over from its
 *   beginning only when a write begins with every frame copied, and under steady writes
 *   one lands during each checkpoint (a few ms), so that never happened: 700 MB in a
 *   5-second benchmark of 50 connections on one session. So when a passive checkpoint
 *   finds a log of `restartFrames` or more, the worker asks the store to hold its
 *   statements (they wait off the loop), runs a RESTART checkpoint, which copies the last
 *   frames and makes the next write start the log over, makes that write itself (it
 *   fsyncs the log's new header), and lets them go. Before asking, it flushes the
 *   database file, so the RESTART's own flush has only the last pages left. While a sweep
 *   runs, only from a longer log (`SWEEP_RESTART_FACTOR`). SQLite's own wait for the write lock cannot stand in
 *   for the hold: it polls, sleeping 1 to 100 ms between tries, and a store writing
 *   without pause took the lock back first every time.
 * - Sweep batches. Even a small batched `DELETE` held the loop 40–200 ms on this disk
 *   (index and page writes that wait on I/O). The worker runs the store's own `sweep`
 *   statement, so the loop only posts a message and awaits the reply. Its connection may
 *   wait for the write lock as long as the store's retries would (it is off the loop).
 *   A batch removes its rows a few at a time (`SWEEP_CHUNK`) and hands the write lock
 *   over when a statement of the store asks for it through a shared flag, so a request
 *   waits for a chunk, not the batch.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** What one sweep batch in the worker did. */
export interface WorkerSweepResult {
  /** Records removed. */
  readonly deleted: number;
  /** How long the batch held the database's write lock (the `DELETE` and its commit, not the wait for the lock), in ms. */
  readonly busyMs: number;
  /** True when more may be left: the batch reached its limit or handed the lock over. */
  readonly more: boolean;
  /** True when the batch ended early because a statement of the store asked for the lock. */
  readonly yielded: boolean;
}

/** A running worker. */
export interface SqliteWorker {
  /** False once the worker has failed or stopped; the store then does the work itself. */
  readonly running: boolean;
  /** True while a sweep batch is queued or running in the worker. */
  readonly sweeping: boolean;
  /**
   * Run one sweep batch (the store's `sweep` statement) in the worker, as of `now` (epoch
   * ms on the store's clock, read on the calling thread like every other statement's).
   * Rejects with the driver's error.
   */
  sweep(now: number, graceMs: number, limit: number): Promise<WorkerSweepResult>;
  /**
   * Asks a running batch to commit what it has removed so far (within one chunk of
   * `SWEEP_CHUNK` rows) and resolves when no sweep batch is queued or running in the
   * worker (at once if none is), whatever the batches' outcome: their callers get that;
   * or after `timeoutMs`. A statement that found the write lock taken by a batch calls it,
   * and retries the moment the lock is free.
   */
  idle(timeoutMs: number): Promise<void>;
  /**
   * While the worker restarts the log, a promise that resolves when it is done: the
   * store's statements wait for it before they run. Undefined the rest of the time.
   */
  readonly held: Promise<void> | undefined;
  /** Let queued batches finish, stop the checkpoint timer and close the worker's connection. */
  stop(): Promise<void>;
}

/** Where the worker finds the database and what it runs. */
export interface SqliteWorkerOptions {
  /** Database file (never `:memory:`: the worker needs the same database). */
  readonly path: string;
  /** The store's `sweep` statement (src/stores/_native/sqlite.ts). */
  readonly sweepSql: string;
  /** Pause between passive checkpoints, in ms. */
  readonly checkpointIntervalMs: number;
  /** Length of the log, in frames (pages), from which a checkpoint makes it start over. */
  readonly restartFrames: number;
  /** How long the worker's connection waits for another connection's write lock, in ms. */
  readonly busyTimeoutMs: number;
  /**
   * A descriptor of the database file, open for the life of the store's own connection,
   * which the worker flushes to disk before a restart. The caller closes it, and only after
   * that connection: closing any descriptor of a file drops every POSIX lock the process
   * holds on it, the SQLite connections' included.
   */
  readonly databaseFd: number;
}

type FromWorker =
  | { readonly kind: 'swept'; readonly id: number; readonly deleted: number; readonly busyMs: number; readonly more: boolean; readonly yielded: boolean }
  | { readonly kind: 'sweepFailed'; readonly id: number; readonly message: string; readonly code?: string }
  | { readonly kind: 'checkpointFailed'; readonly message: string }
  | { readonly kind: 'warning'; readonly message: string }
  | { readonly kind: 'holdStatements' }
  | { readonly kind: 'releaseStatements' };

/** Longest a RESTART checkpoint waits for another process's write to end, in ms: the store's statements wait meanwhile. */
const RESTART_WAIT_MS = 100;
/** A sweep batch this recent, in ms, means a sweep is running (it pauses about as long as a batch between batches). */
const RESTART_AFTER_SWEEP_MS = 1000;
/**
 * While a sweep runs, the log starts over only from this many times the restart length.
 * A sweep's deletions fill it fast (about 100 MB/s here: the expired rows are spread over
 * every page, and each batch's commit logs every page it touched), so at the usual length
 * it restarts every few hundred ms, each restart holding requests for 2-5 ms. Never
 * restarting during a sweep was worse: one sweep of 900,000 rows grew the log of a 200 MB
 * database to 5.8 GB, whose write-back then stalled every process on the machine (an idle
 * one up to 48 ms). At 16 times (up to 680 MB) the p99 of requests during a sweep was
 * 0.9-3.3x the p99 before it over 12 runs of bench/sweep.ts, 2.4x in most; at 4 times
 * (up to 190 MB) 0.93-1.38x over 3 runs, and an idle process beside it stalled 6-9 ms
 * instead of 8-47 ms; at 1 time (up to 80 MB) 0.97-1.36x.
 */
const SWEEP_RESTART_FACTOR = 4;
/**
 * A log file longer than this many times the restart length is cut back to nothing
 * (`TRUNCATE`) rather than started over (`RESTART`): SQLite reuses the file from its
 * start and never shrinks it, so a sweep's deletions would otherwise leave it at its
 * largest (up to `SWEEP_RESTART_FACTOR` times the restart length) for the life of the
 * database.
 */
const TRUNCATE_FACTOR = 4;
/**
 * Scheduling priority (nice) of the worker thread, on Linux. A sweep keeps it busy for
 * most of a core (deleting, checkpointing), and on a machine with few cores the request
 * threads then wait for the CPU scheduler: at 10, in six runs of bench/sweep.ts here, the
 * p99 of requests during a sweep was 1.7-2.1 ms in five (4.2 ms in one, on a slow disk),
 * against 2.1-3.2 ms in four runs at 0; the event loop's longest stall 8-17 ms against
 * 8-20 ms. The worker still gets the CPU whenever the request threads wait, which is most
 * of the time; a request that waits for its write lock waits asynchronously, so it does
 * not hold the CPU meanwhile.
 */
const WORKER_NICENESS = 10;
/**
 * A sweep batch removes its rows this many at a time, and between two such statements
 * commits early if a statement of the store asked for the write lock. The expired rows lie
 * on pages all over the table, so each costs 20-40 µs here: a request that meets a batch
 * waits a fraction of a ms for it, not the whole batch (up to `maxBlockMs`, 1 ms by default,
 * and under a sweep at 1000 requests/s every other write met one).
 */
const SWEEP_CHUNK = 8;

// Evaluated in the worker. Node may run evaluated code as CommonJS or as an ES module
// (it follows the nearest package.json "type"), so the source uses only what both allow:
// dynamic import(), with the driver's URL resolved here, where resolution is reliable.
// Messages are handled one at a time, in order, so a 'stop' runs after queued batches.
const WORKER_SOURCE = `
(async () => {
  const { parentPort, workerData } = await import('node:worker_threads');
  const { setPriority } = await import('node:os');
  // Linux only: there a priority belongs to a thread, and 0 names the calling one; on other
  // systems it would lower the whole process.
  if (process.platform === 'linux') {
    try {
      setPriority(${WORKER_NICENESS});
    } catch (error) {
      parentPort.postMessage({ kind: 'warning', message: 'could not lower the priority of the worker thread: ' + (error instanceof Error ? error.message : String(error)) });
    }
  }
  const { performance } = await import('node:perf_hooks');
  const { fdatasyncSync, statSync } = await import('node:fs');
  const { default: Database } = await import(workerData.driverUrl);
  // Set to 1 by the store's thread when one of its statements waits for a batch's lock.
  const wanted = new Int32Array(workerData.wanted);
  const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
  const truncateAboveBytes = ${TRUNCATE_FACTOR} * workerData.restartFrames * db.pragma('page_size', { simple: true });
  const logBytes = () => {
    try {
      return statSync(workerData.path + '-wal').size;
    } catch (error) {
      if (error !== null && typeof error === 'object' && error.code === 'ENOENT') return 0;
      throw error;
    }
  };
  // Per connection: without it every commit of a batch would fsync the log.
  db.pragma('synchronous = NORMAL');
  // The timer below checkpoints; a commit of a batch should not also do it.
  db.pragma('wal_autocheckpoint = 0');
  const sweep = db.prepare(workerData.sweepSql);
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const checkpointFailed = (error) => {
    parentPort.postMessage({ kind: 'checkpointFailed', message: error instanceof Error ? error.message : String(error) });
  };
  // The first write to a log that starts over writes its new header and fsyncs it (SQLite
  // does, so a reordered write cannot corrupt the restarted log). Made here, while the
  // store's statements still wait, so that fsync runs off the loop; the store's own
  // connection made it before, about once every 100 writes under writes without pause.
  // The write stores user_version as it is: a change of nothing that still writes a page.
  // Another process's writer in the way is no error: one of its writes pays instead.
  const writeFirstFrame = () => {
    try {
      begin.run();
    } catch (error) {
      if (error !== null && typeof error === 'object' && error.code === 'SQLITE_BUSY') return;
      throw error;
    }
    try {
      db.pragma('user_version = ' + Number(db.pragma('user_version', { simple: true })));
      commit.run();
    } catch (error) {
      if (db.inTransaction) rollback.run();
      throw error;
    }
  };
  // True from asking the store to hold its statements until they are let go again.
  let restarting = false;
  let sweptAt = -Infinity;
  const timer = setInterval(() => {
    if (restarting) return;
    try {
      const [done] = db.pragma('wal_checkpoint(PASSIVE)');
      const sweeping = performance.now() - sweptAt < ${RESTART_AFTER_SWEEP_MS};
      const restartFrames = sweeping ? ${SWEEP_RESTART_FACTOR} * workerData.restartFrames : workerData.restartFrames;
      if (done !== undefined && done.log >= restartFrames) {
        // Checkpoints flush the database file only when they copy the log to its end, and
        // under steady writes one lands during nearly every checkpoint, so the copies pile
        // up unflushed. The RESTART would flush them while the store's statements wait:
        // 70-100 ms under a sweep, measured. Flushed here, it leaves that wait a few pages.
        fdatasyncSync(workerData.databaseFd);
        restarting = true;
        parentPort.postMessage({ kind: 'holdStatements' });
      }
    } catch (error) {
      checkpointFailed(error);
    }
  }, workerData.checkpointIntervalMs);
  parentPort.on('message', (message) => {
    if (message.kind === 'statementsHeld') {
      try {
        // Only another process's writer can be in the way now; if it stays longer, the
        // checkpoint answers busy (not an error) and the next one tries again.
        db.pragma('busy_timeout = ${RESTART_WAIT_MS}');
        // Not cut back while a sweep runs: it would only grow again, block by block.
        const sweeping = performance.now() - sweptAt < ${RESTART_AFTER_SWEEP_MS};
        const truncate = !sweeping && logBytes() > truncateAboveBytes;
        const [done] = db.pragma(truncate ? 'wal_checkpoint(TRUNCATE)' : 'wal_checkpoint(RESTART)');
        if (done !== undefined && done.busy === 0) writeFirstFrame();
        db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
      } catch (error) {
        checkpointFailed(error);
      } finally {
        restarting = false;
        parentPort.postMessage({ kind: 'releaseStatements' });
      }
      return;
    }
    if (message.kind === 'sweep') {
      try {
        // Waiting for the write lock happens here, and is not time the batch held it.
        begin.run();
        const startedAt = performance.now();
        let deleted = 0;
        let more = true;
        let yielded = false;
        try {
          const bounds = { now: message.now, cutoff: message.now - message.graceMs };
          // At least one chunk, even when asked already: a sweep under steady requests
          // would otherwise never remove anything.
          for (;;) {
            const limit = Math.min(${SWEEP_CHUNK}, message.limit - deleted);
            const { changes } = sweep.run({ ...bounds, limit });
            deleted += changes;
            if (changes < limit) {
              more = false;
              break;
            }
            if (deleted >= message.limit) break;
            if (Atomics.load(wanted, 0) !== 0) {
              yielded = true;
              break;
            }
          }
          commit.run();
        } catch (error) {
          if (db.inTransaction) rollback.run();
          throw error;
        } finally {
          // Whoever asked gets the lock now; the next batch waits to be asked again.
          Atomics.store(wanted, 0, 0);
        }
        sweptAt = performance.now();
        parentPort.postMessage({ kind: 'swept', id: message.id, deleted, busyMs: performance.now() - startedAt, more, yielded });
      } catch (error) {
        const code = error !== null && typeof error === 'object' && typeof error.code === 'string' ? error.code : undefined;
        parentPort.postMessage({ kind: 'sweepFailed', id: message.id, message: error instanceof Error ? error.message : String(error), code });
      }
      return;
    }
    clearInterval(timer);
    db.close();
    parentPort.close();
  });
})();
`;

function driverUrl(): string {
  // tsup's shims give the CommonJS build an \`import.meta.url\` too.
  return pathToFileURL(createRequire(import.meta.url).resolve('better-sqlite3')).href;
}

/**
 * Start the worker for the database at `path`. `onFailure` receives an error the worker
 * met outside a sweep (a failed checkpoint, a worker that could not start or died); the
 * caller then goes back to SQLite's automatic checkpoints. Sweep errors are not reported
 * there: they reject the sweep that met them.
 */
export function startSqliteWorker(options: SqliteWorkerOptions, onFailure: (error: Error) => void): SqliteWorker {
  const wanted = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driverUrl: driverUrl(), wanted: wanted.buffer, ...options },
  });
  let running = true;
  let stopping = false;
  let nextId = 0;
  const pending = new Map<number, { resolve: (result: WorkerSweepResult) => void; reject: (error: Error) => void }>();
  let failed = false;
  const fail = (error: Error): void => {
    if (failed) return;
    failed = true;
    onFailure(error);
  };
  let idleWaiters: (() => void)[] = [];
  const wakeIdleWaiters = (): void => {
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const wake of waiters) wake();
  };
  let held: { promise: Promise<void>; release: () => void } | undefined;
  // Checkpoints are housekeeping and must not keep the process alive. Whatever someone
  // awaits must: a sweep batch's reply, the end of a hold (a statement waits on it), the
  // worker's exit after stop(); else the process could end with a write half done.
  const updateRef = (): void => {
    if (pending.size > 0 || held !== undefined || stopping) worker.ref();
    else worker.unref();
  };
  const settle = (id: number): { resolve: (result: WorkerSweepResult) => void; reject: (error: Error) => void } | undefined => {
    const waiter = pending.get(id);
    pending.delete(id);
    updateRef();
    if (pending.size === 0) wakeIdleWaiters();
    return waiter;
  };
  worker.on('error', (error) => {
    running = false;
    fail(error);
  });
  const releaseStatements = (): void => {
    held?.release();
    held = undefined;
    updateRef();
  };
  worker.on('message', (message: FromWorker) => {
    if (message.kind === 'holdStatements') {
      // No statement of this thread is running while a message is handled (they are
      // synchronous), so from here on none will until the release.
      let release = (): void => undefined;
      held = { promise: new Promise<void>((resolve) => (release = resolve)), release };
      updateRef();
      worker.postMessage({ kind: 'statementsHeld' });
    } else if (message.kind === 'releaseStatements') {
      releaseStatements();
    } else if (message.kind === 'warning') {
      process.emitWarning(`sqlite store: ${message.message}`);
    } else if (message.kind === 'checkpointFailed') {
      fail(new Error(`sqlite store: a background WAL checkpoint failed: ${message.message}`));
    } else if (message.kind === 'swept') {
      settle(message.id)?.resolve({ deleted: message.deleted, busyMs: message.busyMs, more: message.more, yielded: message.yielded });
    } else {
      // Rebuilt with the driver's code, so callers can tell SQLITE_BUSY from other failures.
      settle(message.id)?.reject(Object.assign(new Error(message.message), message.code === undefined ? {} : { code: message.code }));
    }
  });
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      running = false;
      releaseStatements();
      for (const [id, waiter] of pending) {
        pending.delete(id);
        waiter.reject(new Error('sqlite store: the worker thread exited before the sweep batch finished'));
      }
      wakeIdleWaiters();
      resolve();
    }),
  );
  // Only now: adding a 'message' listener refs the worker's port again, so an unref()
  // before the listeners would not hold (an unclosed store kept its process alive).
  updateRef();
  return {
    get running() {
      return running && !stopping;
    },
    get sweeping() {
      return pending.size > 0;
    },
    get held() {
      return held?.promise;
    },
    sweep(now, graceMs, limit) {
      return new Promise<WorkerSweepResult>((resolve, reject) => {
        if (!running || stopping) {
          reject(new Error('sqlite store: the worker thread is not running'));
          return;
        }
        const id = nextId;
        nextId += 1;
        pending.set(id, { resolve, reject });
        updateRef();
        worker.postMessage({ kind: 'sweep', id, now, graceMs, limit });
      });
    },
    idle(timeoutMs) {
      if (pending.size === 0) return Promise.resolve();
      Atomics.store(wanted, 0, 1);
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    async stop() {
      stopping = true;
      updateRef();
      worker.postMessage({ kind: 'stop' });
      await exited;
    },
  };
}
