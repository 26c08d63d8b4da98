// Seed 001: "it is possible that do_cleanup will be called simultaneously in more than one
// thread ... It ends up being a pretty good self-DOS attack." Eight processes, each told
// to sweep every 10 ms for 10 s, against one SQLite file and one file-store folder at
// once: the sweeper lease in the store lets exactly one sweep run at any instant.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { StampedeReport } from '../fixtures/sweep-stampede-child.js';

const PROCESSES = 8;
const DURATION_MS = 10_000;
const childSource = fileURLToPath(new URL('../fixtures/sweep-stampede-child.ts', import.meta.url));

/**
 * The child bundled to plain JavaScript once (esbuild, already here for tsup and tsx):
 * eight processes each loading a TypeScript loader take seconds to start on a small
 * machine, a bundle starts in a fraction of one.
 */
async function bundleChild(): Promise<string> {
  // Inside node_modules/.cache, so the bundle's imports of drivers resolve as the source's do.
  const outfile = fileURLToPath(new URL(`../../node_modules/.cache/sessionlock/stampede-child-${process.pid}.mjs`, import.meta.url));
  await build({ entryPoints: [childSource], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile, logLevel: 'error' });
  return outfile;
}

/** The lines a child prints, in order, as they come. */
function linesOf(proc: ChildProcess): AsyncIterator<string> {
  return createInterface({ input: proc.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
}

describe('races: sweep stampede', () => {
  it(`${PROCESSES} processes sweeping every 10 ms never overlap (SQLite and file store)`, { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sessionlock-stampede-'));
    const urls = [`sqlite:${join(dir, 'sessions.db')}`, `file:${join(dir, 'files')}`];
    const child = await bundleChild();
    const procs = Array.from({ length: PROCESSES }, () =>
      spawn(process.execPath, [child], {
        env: { ...process.env, SESSIONLOCK_STAMPEDE_STORES: urls.join(','), SESSIONLOCK_STAMPEDE_MS: String(DURATION_MS) },
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    try {
      const lines = procs.map(linesOf);
      const t0 = Date.now();
      for (const next of lines) assert.equal((await next.next()).value, 'ready');
      process.stdout.write(`# ready after ${Date.now() - t0} ms\n`);
      // Everyone starts together, so the stampede is real from the first attempt.
      for (const proc of procs) proc.stdin?.write('go\n');
      const reports = (await Promise.all(lines.map(async (next) => JSON.parse((await next.next()).value as string)))).flat() as StampedeReport[];
      process.stdout.write(`# results after ${Date.now() - t0} ms\n`);
      for (const url of urls) {
        const mine = reports.filter((report) => report.url === url);
        assert.equal(mine.length, PROCESSES);
        const intervals = mine
          .flatMap((report) => report.sweeps.map(([start, end]) => ({ start: BigInt(start), end: BigInt(end), pid: report.pid })))
          .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
        for (let i = 1; i < intervals.length; i += 1) {
          const before = intervals[i - 1] as { end: bigint; pid: number };
          const current = intervals[i] as { start: bigint; pid: number };
          assert.ok(current.start >= before.end, `${url}: a sweep of ${current.pid} started before one of ${before.pid} ended`);
        }
        const ran = intervals.length;
        const skipped = mine.reduce((sum, report) => sum + report.skipped, 0);
        const deleted = mine.reduce((sum, report) => sum + report.deleted, 0);
        const sweepers = new Set(intervals.map((interval) => interval.pid)).size;
        // Evidence the stampede happened: many sweeps ran, from several processes, and many
        // attempts found the lease held.
        assert.ok(ran >= 20, `${url}: only ${ran} sweeps ran`);
        assert.ok(sweepers >= 2, `${url}: sweeps ran in ${sweepers} process(es) only`);
        assert.ok(skipped >= 10, `${url}: only ${skipped} attempts found the lease held`);
        assert.ok(deleted > 0, `${url}: nothing was swept`);
        process.stdout.write(`# ${url.split(':')[0]}: ${ran} sweeps ran in ${sweepers} processes, ${skipped} skipped, ${deleted} records removed, no overlap\n`);
      }
    } finally {
      for (const proc of procs) if (proc.exitCode === null) proc.kill();
      await rm(child, { force: true });
    }
  });
});
