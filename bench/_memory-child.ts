// Scenario 6, one contender per process (run with --expose-gc): the heap one session
// costs in a memory store, as (heap used after N sessions − before) / N, both after gc.
import { randomBytes } from 'node:crypto';
import session from 'express-session';
import createMemoryStore from 'memorystore';
import { createSessionManager } from '../src/index.js';
import { createMemoryStore as createSessionlockMemoryStore } from '../src/stores/memory.js';

/** What one measurement found. */
export interface MemoryResult {
  readonly sessions: number;
  readonly bytesPerSession: number;
  readonly heapBeforeBytes: number;
  readonly heapAfterBytes: number;
}

type Filler = (count: number) => Promise<void>;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

function heapUsed(): number {
  // Twice: the first collection can leave weakly held and finalizable garbage behind.
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** express-session's `set` with the session object its middleware would store. */
function expressSessionFiller(store: session.Store): Filler {
  return async (count) => {
    for (let i = 0; i < count; i++) {
      // express-session's ids are 24 random bytes in base64url (uid-safe).
      const id = randomBytes(24).toString('base64url');
      const data = Object.assign(Object.create(null) as object, { cookie: new session.Cookie(), hits: 1 }) as session.SessionData;
      await new Promise<void>((resolve, reject) => store.set(id, data, (error?: unknown) => (error ? reject(error) : resolve())));
    }
  };
}

async function sessionlockFiller(): Promise<{ fill: Filler; keep: unknown }> {
  const manager = createSessionManager({ store: createSessionlockMemoryStore(), secret: 'bench-secret-that-is-long-enough' });
  return {
    keep: manager,
    fill: async (count) => {
      for (let i = 0; i < count; i++) {
        const created = await manager.open(undefined);
        created.data.hits = 1;
        await manager.commit(created);
      }
    },
  };
}

const kind = process.env.BENCH_MEMORY_KIND;
const count = Number(process.env.BENCH_MEMORY_SESSIONS ?? '100000');
let fill: Filler;
let keep: unknown;
if (kind === 'sessionlock') ({ fill, keep } = await sessionlockFiller());
else if (kind === 'express-session') {
  keep = new session.MemoryStore();
  fill = expressSessionFiller(keep as session.Store);
} else if (kind === 'memorystore') {
  const MemoryStore = createMemoryStore(session);
  // As memorystore's README: prune expired entries every 24 h.
  keep = new MemoryStore({ checkPeriod: 86_400_000 });
  fill = expressSessionFiller(keep as session.Store);
} else throw new Error(`unknown BENCH_MEMORY_KIND ${kind}`);

// One warm-up session, so lazily built structures are in the baseline, not the delta.
await fill(1);
const heapBeforeBytes = heapUsed();
await fill(count);
const heapAfterBytes = heapUsed();
const result: MemoryResult = { sessions: count, bytesPerSession: (heapAfterBytes - heapBeforeBytes) / count, heapBeforeBytes, heapAfterBytes };
process.stdout.write(`${JSON.stringify(result)}\n`);
// The store must stay reachable until after the measurement.
if (keep === undefined) process.exitCode = 1;
process.exit();
