import { ExpiryIndex } from './_expiry-index.js';
import { decideAcquire, decideRenew, decideWrite, isSweepable, publicRecord, type LeasedRecord } from './_lease-record.js';
import type { SessionStore, StoreCapabilities, SweepBatchResult } from './types.js';

/** Options of the memory store. */
export interface MemoryStoreOptions {
  /** Clock in epoch ms, for tests. @default Date.now */
  now?: () => number;
}

const capabilities: StoreCapabilities = {
  crossProcess: false,
  crossHost: false,
  nativeExpiry: false,
  notifications: false,
};

/**
 * A store in this process's memory: for tests, demos and single-process apps that can
 * lose their sessions on restart. Locks hold within the process only. Every operation
 * runs synchronously, so each is atomic by construction.
 *
 * @example
 * ```ts
 * const sessions = createSessionManager({ store: createMemoryStore(), secret });
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): SessionStore {
  const now = options.now ?? Date.now;
  const records = new Map<string, LeasedRecord>();
  const expiries = new ExpiryIndex();

  const put = (key: string, next: LeasedRecord | null | undefined, previous: LeasedRecord | undefined): void => {
    if (next === undefined) return;
    if (next === null) {
      records.delete(key);
      return;
    }
    records.set(key, next);
    if (next.expiresAt !== previous?.expiresAt) expiries.push(next.expiresAt, key);
  };

  const rebuildIfStale = (): void => {
    // Each touch leaves a stale index entry behind; rebuild when they outnumber the records.
    if (expiries.size <= 2 * records.size + 1024) return;
    expiries.clear();
    for (const [key, entry] of records) expiries.push(entry.expiresAt, key);
  };

  return {
    name: 'memory',
    capabilities,
    acquire(key, token, leaseMs) {
      const entry = records.get(key);
      const { result, next } = decideAcquire(entry, token, leaseMs, now());
      put(key, next, entry);
      return Promise.resolve(result);
    },
    read(key) {
      const entry = records.get(key);
      return Promise.resolve(entry === undefined || entry.expiresAt <= now() ? null : publicRecord(entry));
    },
    write(key, guard, op) {
      const entry = records.get(key);
      const { result, next } = decideWrite(entry, guard, op, now());
      put(key, next, entry);
      rebuildIfStale();
      return Promise.resolve(result);
    },
    renew(key, token, leaseMs) {
      const entry = records.get(key);
      const { result, next } = decideRenew(entry, token, leaseMs, now());
      put(key, next, entry);
      return Promise.resolve(result);
    },
    sweep({ graceMs, limit }) {
      const at = now();
      let deleted = 0;
      const stillLeased: [number, string][] = [];
      while (deleted < limit) {
        const earliest = expiries.peek();
        if (earliest === undefined || earliest + graceMs >= at) break;
        const [expiresAt, key] = expiries.pop() as [number, string];
        const entry = records.get(key);
        if (entry === undefined || entry.expiresAt !== expiresAt) continue;
        if (isSweepable(entry, graceMs, at)) {
          records.delete(key);
          deleted += 1;
        } else {
          stillLeased.push([expiresAt, key]);
        }
      }
      for (const [expiresAt, key] of stillLeased) expiries.push(expiresAt, key);
      const result: SweepBatchResult = { deleted, more: deleted >= limit };
      return Promise.resolve(result);
    },
    close() {
      records.clear();
      expiries.clear();
      return Promise.resolve();
    },
  };
}
