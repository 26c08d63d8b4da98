// Scenario 4, sweeping under load, is bench/sweep.ts (its own script, written
// separately); the harness runs it in a child process and reads bench/results/sweep.json.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR } from './_processes.js';

/** What scenario 4 produced: the script's own JSON, or why there is none. */
export interface SweepOutcome {
  unavailable?: string;
  data?: unknown;
  durationS?: number;
}

/** The results file bench/sweep.ts writes. */
export const SWEEP_RESULTS = join(BENCH_DIR, 'results', 'sweep.json');

/** Seconds a finished sweep script may linger after writing its results. */
const LINGER_S = 10;
/** The longest the sweep script may take at all: three repetitions of both stores. */
const LIMIT_MS = 25 * 60_000;

/** Run bench/sweep.ts (with `--quick` in a quick run) and read its results. */
export async function runSweep(quick: boolean): Promise<SweepOutcome> {
  const script = join(BENCH_DIR, 'sweep.ts');
  if (!existsSync(script)) return { unavailable: 'bench/sweep.ts is not there yet' };
  const startedAt = Date.now();
  process.stderr.write('scenario 4: bench/sweep.ts\n');
  const written = (): boolean => existsSync(SWEEP_RESULTS) && statSync(SWEEP_RESULTS).mtimeMs >= startedAt;
  const code = await new Promise<number | string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...(quick ? ['--quick'] : [])], {
      // Its progress and summary go to our stderr; its results come from the JSON file.
      stdio: ['ignore', process.stderr, 'inherit'],
    });
    let writtenFor = 0;
    // Once its results are written, a script that lingers (a handle left open) is ended
    // after a grace period, so one stuck helper cannot hold up the whole run.
    const watch = setInterval(() => {
      if (!written()) return;
      writtenFor++;
      if (writtenFor === LINGER_S) {
        process.stderr.write(`scenario 4: bench/sweep.ts wrote its results but did not exit within ${LINGER_S} s; ending it\n`);
        child.kill('SIGTERM');
      }
    }, 1000);
    const limit = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
    child.once('error', reject);
    child.once('exit', (exitCode, signal) => {
      clearInterval(watch);
      clearTimeout(limit);
      resolve(writtenFor >= LINGER_S ? 0 : (signal ?? exitCode ?? 0));
    });
  });
  const durationS = (Date.now() - startedAt) / 1000;
  if (code !== 0) return { unavailable: `bench/sweep.ts failed (${code})`, durationS };
  if (!written()) {
    return { unavailable: 'bench/sweep.ts wrote no bench/results/sweep.json', durationS };
  }
  return { data: JSON.parse(readFileSync(SWEEP_RESULTS, 'utf8')) as unknown, durationS };
}
