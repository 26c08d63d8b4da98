/**
 * The child-process side of the conformance suite's cross-process cases. Started by
 * `runStoreSuite` with a JSON task in `SESSIONLOCK_CHILD_TASK`; loads the store module
 * under test and reports on stdout, one JSON line per event.
 *
 * @internal
 * @module
 */
import { pathToFileURL } from 'node:url';
import { createSessionManager } from '../core/manager.js';
import { createLeaseToken } from '../core/ids.js';
import type { SessionStore } from '../stores/types.js';

/** What a child is asked to do. @internal */
export type ChildTask =
  | {
      kind: 'increment';
      module: string;
      cookie: string;
      secret: string;
      /** Increments made by each of `parallel` concurrent loops. */
      count: number;
      parallel: number;
      maxDelayMs: number;
    }
  | { kind: 'hold'; module: string; key: string; leaseMs: number };

function say(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function loadStore(module: string): Promise<SessionStore> {
  const url = /^[a-z]+:/i.test(module) && !/^[a-z]:[\\/]/i.test(module) ? module : pathToFileURL(module).href;
  const factory = ((await import(url)) as { default: () => SessionStore | Promise<SessionStore> }).default;
  return factory();
}

async function main(): Promise<void> {
  const task = JSON.parse(process.env.SESSIONLOCK_CHILD_TASK ?? 'null') as ChildTask | null;
  if (task === null) throw new Error('SESSIONLOCK_CHILD_TASK is not set');
  const store = await loadStore(task.module);
  if (task.kind === 'hold') {
    const result = await store.acquire(task.key, createLeaseToken(), task.leaseMs);
    say({ event: 'held', status: result.status });
    // Stay alive holding the lease until the parent kills us with SIGKILL.
    setInterval(() => undefined, 60_000);
    return;
  }
  const manager = createSessionManager({ store, secret: task.secret, lock: { waitMs: 60_000 } });
  const loop = async (): Promise<void> => {
    for (let i = 0; i < task.count; i += 1) {
      const session = await manager.open(task.cookie);
      const hits = Number(session.data.hits ?? 0);
      // Yield mid-request so overlapping requests really overlap.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * task.maxDelayMs));
      session.data.hits = hits + 1;
      await manager.commit(session);
    }
  };
  await Promise.all(Array.from({ length: task.parallel }, loop));
  await store.close();
  say({ event: 'done' });
}

main().catch((error: unknown) => {
  say({ event: 'error', message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
});
