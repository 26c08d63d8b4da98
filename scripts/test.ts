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

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ...services.env, NODE_ENV: 'test' },
});
child.on('exit', (code, signal) => {
  void services.stop().finally(() => process.exit(code ?? (signal === null ? 1 : 128)));
});
