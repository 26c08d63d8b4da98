// Scenario 6: each memory store measured in its own process (see _memory-child.ts).
import type { MemoryResult } from './_memory-child.js';
import { runJsonScript } from './_processes.js';
import type { MemoryOutcome } from './_results.js';

const KINDS = [
  { kind: 'sessionlock', label: 'sessionlock memory store', group: 'sessionlock' },
  { kind: 'express-session', label: 'express-session MemoryStore', group: 'peer' },
  { kind: 'memorystore', label: 'memorystore', group: 'peer' },
] as const;

/** Measure heap per session for each memory store at `sessions` sessions. */
export async function runMemory(sessions: number): Promise<MemoryOutcome[]> {
  const outcomes: MemoryOutcome[] = [];
  for (const { kind, label, group } of KINDS) {
    process.stderr.write(`scenario 6: ${label}\n`);
    const outcome: MemoryOutcome = { label, group };
    try {
      outcome.result = await runJsonScript<MemoryResult>('_memory-child.ts', { BENCH_MEMORY_KIND: kind, BENCH_MEMORY_SESSIONS: String(sessions) }, ['--expose-gc']);
    } catch (error) {
      outcome.unavailable = error instanceof Error ? error.message : String(error);
    }
    outcomes.push(outcome);
  }
  return outcomes;
}
