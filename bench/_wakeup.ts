// Scenario 5: wake-up latency across processes. Two processes share one session of a
// store; one holds the lease and releases it, the other is already waiting for it.
// Latency = the waiter's acquire instant − the holder's release instant (same host clock).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StoreName } from './_contenders.js';
import { BENCH_DIR, WORK_DIR } from './_processes.js';
import type { WakeupCommand, WakeupReply } from './_wakeup-child.js';
import type { ServiceUrls } from './contenders/_serve.js';

/** Wake-up latencies of one store, in ms. */
export interface WakeupResult {
  readonly store: StoreName;
  unavailable?: string;
  readonly latenciesMs: number[];
}

/** The stores whose leases hold across processes. */
export const CROSS_PROCESS_STORES: readonly StoreName[] = ['sqlite', 'file', 'redis', 'postgres', 'mysql', 'memcached'];

const REPLY_TIMEOUT_MS = 15_000;

class Side {
  readonly #child: ChildProcess;
  readonly #inbox: WakeupReply[] = [];
  #notify: (() => void) | undefined;

  constructor(url: string) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', join(BENCH_DIR, '_wakeup-child.ts')], {
      env: { ...process.env, BENCH_STORE_URL: url, BENCH_SECRET: 'bench-secret-that-is-long-enough' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.#child.on('message', (reply: WakeupReply) => {
      this.#inbox.push(reply);
      this.#notify?.();
    });
    this.#child.once('exit', (code) => {
      this.#inbox.push({ type: 'failed', reason: `exited with code ${code}` });
      this.#notify?.();
    });
  }

  send(command: WakeupCommand): void {
    this.#child.send(command);
  }

  /** The next reply of `type`; rejects on a failure, or after a timeout. */
  async next<T extends WakeupReply['type']>(type: T | 'unavailable'): Promise<Extract<WakeupReply, { type: T | 'unavailable' }>> {
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      const reply = this.#inbox.shift();
      if (reply !== undefined) {
        if (reply.type === type || reply.type === 'unavailable') return reply as Extract<WakeupReply, { type: T | 'unavailable' }>;
        if (reply.type === 'failed') throw new Error(reply.reason);
        throw new Error(`expected ${type}, got ${reply.type}`);
      }
      if (Date.now() > deadline) throw new Error(`no ${type} reply within ${REPLY_TIMEOUT_MS} ms`);
      await new Promise<void>((resolve) => {
        this.#notify = resolve;
        setTimeout(resolve, 100);
      });
      this.#notify = undefined;
    }
  }

  stop(): void {
    if (this.#child.connected) this.#child.disconnect();
  }
}

function storeUrl(store: StoreName, dir: string, services: ServiceUrls): string | undefined {
  if (store === 'sqlite') return `sqlite:${join(dir, 'wakeup.db')}`;
  if (store === 'file') return `file:${join(dir, 'wakeup-files')}`;
  if (store === 'memory') return undefined;
  return services[store];
}

async function measureStore(store: StoreName, rounds: number, services: ServiceUrls): Promise<WakeupResult> {
  const result: WakeupResult = { store, latenciesMs: [] };
  const dir = join(WORK_DIR, `wakeup-${store}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const url = storeUrl(store, dir, services);
  if (url === undefined) {
    result.unavailable = `the ${store} server is not running`;
    return result;
  }
  const holder = new Side(url);
  const waiter = new Side(url);
  try {
    for (const side of [holder, waiter]) {
      const ready = await side.next('ready');
      if (ready.type === 'unavailable') {
        result.unavailable = ready.reason;
        return result;
      }
    }
    holder.send({ type: 'create' });
    const created = await holder.next('created');
    if (created.type !== 'created') throw new Error('no session was created');
    const cookie = created.cookie;
    for (let round = 0; round < rounds; round++) {
      holder.send({ type: 'hold', cookie });
      await holder.next('held');
      waiter.send({ type: 'wait', cookie });
      await waiter.next('waiting');
      // A varying hold, so the release falls at a different point of any polling cycle.
      await sleep(10 + (round % 7) * 5);
      holder.send({ type: 'release' });
      const released = await holder.next('released');
      const acquired = await waiter.next('acquired');
      if (released.type === 'released' && acquired.type === 'acquired') result.latenciesMs.push(acquired.acquiredAt - released.releaseAt);
    }
  } catch (error) {
    result.unavailable = `failed: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    holder.stop();
    waiter.stop();
    await sleep(200);
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

/** Scenario 5 for each of `stores` (every cross-process store by default). */
export async function runWakeup(rounds: number, services: ServiceUrls, stores: readonly StoreName[] = CROSS_PROCESS_STORES): Promise<WakeupResult[]> {
  const results: WakeupResult[] = [];
  for (const store of stores) {
    process.stderr.write(`scenario 5: ${store}\n`);
    results.push(await measureStore(store, rounds, services));
  }
  return results;
}
