// Runs every test file with node's test runner. Services the tests need (database
// servers, nginx) are started once here, on loopback, and their URLs passed down in
// environment variables; see test/services/.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { servicesUsedBy, startServices } from '../test/services/index.js';

const root = new URL('..', import.meta.url).pathname;

function findTests(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return findTests(path);
    return entry.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}

const filters = process.argv.slice(2);
const files = findTests(join(root, 'test'))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();

// Only the servers the selected files ask for (requireServiceUrl calls); stopped by PID
// when the runner exits, also on SIGINT/SIGTERM.
const services = await startServices(servicesUsedBy(files.map((file) => join(root, file))));

// Bounds against a hang, not timing checks: a test that never ends fails by name after
// TEST_TIMEOUT_MS, and a test file whose process never exits (something left alive: it
// happened once, and CI waited 90 minutes) ends the whole run after RUN_DEADLINE_MS.
// Both are far above what a run takes here (the slowest test about a minute, the run 5).
const TEST_TIMEOUT_MS = 300_000;
const RUN_DEADLINE_MS = Number(process.env.SESSIONLOCK_TEST_DEADLINE_MS ?? 1_500_000);

// In its own process group, so the runner and every test file's process end together.
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', `--test-timeout=${TEST_TIMEOUT_MS}`, ...files], {
  cwd: root,
  stdio: 'inherit',
  detached: true,
  env: { ...process.env, ...services.env, NODE_ENV: 'test' },
});
const killGroup = (signal: NodeJS.Signals): void => {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  process.kill(-child.pid, signal);
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => killGroup('SIGKILL'));
const deadline = setTimeout(() => {
  process.stderr.write(`\ntest run still going after ${RUN_DEADLINE_MS / 1000} s: stopped; the last file above hangs\n`);
  killGroup('SIGKILL');
}, RUN_DEADLINE_MS);
child.on('exit', (code, signal) => {
  clearTimeout(deadline);
  void services.stop().finally(() => process.exit(code ?? (signal === null ? 1 : 128)));
});
