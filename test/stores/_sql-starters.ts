// Starts several processes that set a SQL store's schema up at the same moment, for
// the schema tests of the PostgreSQL and MySQL stores.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** How each child ended: `done` (the store call succeeded) or `failed` with the error text. */
export interface StarterOutcome {
  readonly event: 'done' | 'failed';
  readonly message?: string;
}

const fixture = new URL('../fixtures/sql-schema-starter.ts', import.meta.url).pathname;

/**
 * Spawn `count` processes on the store at `url`, release them together once all are
 * ready, and collect how each one ended.
 */
export async function startTogether(url: string, count: number): Promise<StarterOutcome[]> {
  const children = Array.from({ length: count }, () =>
    spawn(process.execPath, ['--import', 'tsx', fixture], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, SESSIONLOCK_TEST_STORE_URL: url },
    }),
  );
  const outcomes = children.map((child) => {
    const lines = createInterface({ input: child.stdout });
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const outcome = new Promise<StarterOutcome>((resolve, reject) => {
      lines.on('line', (line) => {
        const message = JSON.parse(line) as { event: string; message?: string };
        if (message.event === 'ready') ready();
        else if (message.event === 'done' || message.event === 'failed') resolve(message as StarterOutcome);
      });
      child.once('exit', (code) => reject(new Error(`a schema starter exited with code ${String(code)} before reporting`)));
    });
    // Reported by the outcome, awaited below; a child that dies before "ready" fails it.
    outcome.catch(() => undefined);
    return { child, isReady: Promise.race([isReady, outcome.then(() => undefined)]), outcome };
  });
  await Promise.all(outcomes.map((entry) => entry.isReady));
  for (const { child } of outcomes) child.stdin.write('go\n');
  const results = await Promise.all(outcomes.map((entry) => entry.outcome));
  for (const { child } of outcomes) child.stdin.end();
  return results;
}
