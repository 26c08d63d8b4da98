/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside whichever
 * write makes the log pass 1000 pages: it copies the log into the database and fsyncs
 * it, synchronously, on the event loop (better-sqlite3 has no asynchronous calls). On a
 * busy disk that held the loop for 100–270 ms at a time while a sweep removed a large
 * backlog. Here a worker thread with its own connection runs passive checkpoints on a
 * timer instead, and the store's connection turns its automatic checkpoint off. A
 * passive checkpoint never blocks readers or writers of other connections.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** A running checkpointer. */
export interface Checkpointer {
  /** Stop the timer and close the worker's connection. */
  stop(): Promise<void>;
}

// CommonJS, evaluated in the worker; the driver's path comes from the main thread,
// since an evaluated worker resolves modules from the working directory, not from here.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 1000 });
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

function driverPath(): string {
  // The ES module build resolves from its own URL; in the CommonJS build `import.meta`
  // is empty and the real `require` is there.
  const here = (import.meta as { url?: string }).url;
  return here !== undefined ? createRequire(here).resolve('better-sqlite3') : require.resolve('better-sqlite3');
}

/**
 * Start checkpointing the database at `path` every `intervalMs` in a worker thread.
 * `onFailure` receives an error the worker met (a failed checkpoint, a worker that could
 * not start); the caller then goes back to SQLite's automatic checkpoints.
 */
export function startCheckpointer(path: string, intervalMs: number, onFailure: (error: Error) => void): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver: driverPath(), path, intervalMs } });
  // Checkpoints are housekeeping: they must not keep the process alive.
  worker.unref();
  let failed = false;
  const fail = (error: Error): void => {
    if (failed) return;
    failed = true;
    onFailure(error);
  };
  worker.on('error', fail);
  worker.on('message', (message: { error?: string }) => {
    if (message.error !== undefined) fail(new Error(`sqlite store: a background WAL checkpoint failed: ${message.error}`));
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      // Held alive again until it has closed its connection, or the wait would end the process.
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}
