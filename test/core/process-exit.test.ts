// A script that forgets close() must still end: the embedded stores' background work (the
// SQLite worker thread's checkpoints, the sweeper's timers) must not keep a process alive.
// This once hung: the SQLite worker's port was ref'd again by its 'message' listener.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/** Bound on the wait, so a regression fails here instead of hanging the run. */
const HANG_BOUND_MS = 60_000;

function runChild(storeUrl: string): Promise<{ code: number | null; stdout: string; stderr: string; hung: boolean }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('../fixtures/unclosed-manager-child.ts', import.meta.url).pathname, storeUrl], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, HANG_BOUND_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, hung });
    });
  });
}

describe('a process that never closes its session manager', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessionlock-exit-'));
  for (const url of ['memory:', `sqlite:${join(dir, 'sessions.db')}`, `file:${join(dir, 'files')}`]) {
    it(`exits on its own (${url.split(':')[0] ?? url})`, async () => {
      const result = await runChild(url);
      assert.equal(result.hung, false, `still running after ${HANG_BOUND_MS} ms: something keeps the process alive`);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { hits: 2 });
    });
  }
});
