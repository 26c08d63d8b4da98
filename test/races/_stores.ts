// The stores the race tests run against: every store that sweeps and runs here without
// a server. Each call of `open()` gives a store on a fresh folder or database file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionStore } from '../../src/index.js';
import { createFileStore } from '../../src/stores/file.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { createSqliteStore } from '../../src/stores/sqlite.js';

/** A store under test, by name. */
export interface RaceTarget {
  readonly name: string;
  readonly open: () => SessionStore;
}

function freshDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `sessionlock-race-${name}-`));
}

/** Memory, SQLite and file stores. */
export const raceTargets: readonly RaceTarget[] = [
  { name: 'memory', open: () => createMemoryStore() },
  { name: 'sqlite', open: () => createSqliteStore({ path: join(freshDir('sqlite'), 'sessions.db') }) },
  { name: 'file', open: () => createFileStore({ dir: freshDir('file') }) },
];

/** A promise and the function that resolves it: a pause point a test opens when the schedule says so. */
export interface Gate {
  readonly passed: Promise<void>;
  readonly open: () => void;
}

/** A closed gate. */
export function createGate(): Gate {
  let open: () => void = () => undefined;
  const passed = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { passed, open };
}
