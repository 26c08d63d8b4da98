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
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** A running checkpointer. */
export interface Checkpointer {
  /** Stop the timer and close the worker's connection. */
  stop(): Promise<void>;
}

// Evaluated in the worker. Node may run evaluated code as CommonJS or as an ES module
// (it follows the nearest package.json "type"), so the source uses only what both allow:
// dynamic import(), with the driver's URL resolved here, where resolution is reliable.
const WORKER_SOURCE = `
(async () => {
  const { parentPort, workerData } = await import('node:worker_threads');
  const { default: Database } = await import(workerData.driverUrl);
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
})();
`;

function driverUrl(): string {
  // tsup's shims give the CommonJS build an \`import.meta.url\` too.
  return pathToFileURL(createRequire(import.meta.url).resolve('better-sqlite3')).href;
}

/**
 * Start checkpointing the database at `path` every `intervalMs` in a worker thread.
 * `onFailure` receives an error the worker met (a failed checkpoint, a worker that could
 * not start); the caller then goes back to SQLite's automatic checkpoints.
 */
export function startCheckpointer(path: string, intervalMs: number, onFailure: (error: Error) => void): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driverUrl: driverUrl(), path, intervalMs } });
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
