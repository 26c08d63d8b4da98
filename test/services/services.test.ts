// The test-service helpers themselves: how scripts/test.ts finds the services a file
// needs, how a missing one fails a test, and how a server process is started and stopped.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort, installCommand, portAccepts, serviceDirs, spawnServer } from './_process.js';
import { servicesUsedBy } from './index.js';
import { requireServiceUrl, requireServiceUrls } from './require.js';

describe('test services', () => {
  it('finds the services a test file names, and nothing else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sessionlock-services-'));
    const call = (name: string): string => `requireServiceUrl${'('}'${name}')`;
    writeFileSync(join(dir, 'a.test.ts'), `const url = ${call('memcached')};\nconst other = ${call('no-such-service')};\n`);
    writeFileSync(join(dir, 'b.test.ts'), `// ${'services'}: postgres, mysql\nconst nodes = requireServiceUrls${'('}"redis-cluster");\n`);
    writeFileSync(join(dir, 'c.test.ts'), 'nothing here\n');
    assert.deepEqual(servicesUsedBy([join(dir, 'a.test.ts'), join(dir, 'b.test.ts'), join(dir, 'c.test.ts')]), [
      'redis-cluster',
      'postgres',
      'mysql',
      'memcached',
    ]);
    assert.deepEqual(servicesUsedBy([join(dir, 'c.test.ts')]), []);
  });

  it('fails, naming the variable to set, when a service is missing; never skips', () => {
    // Through a variable, so scripts/test.ts does not start memcached for this file.
    const service = 'memcached' as const;
    const saved = { url: process.env.SESSIONLOCK_TEST_MEMCACHED_URL, error: process.env.SESSIONLOCK_TEST_MEMCACHED_ERROR };
    try {
      delete process.env.SESSIONLOCK_TEST_MEMCACHED_URL;
      delete process.env.SESSIONLOCK_TEST_MEMCACHED_ERROR;
      assert.throws(() => requireServiceUrl(service), /SESSIONLOCK_TEST_MEMCACHED_URL/);
      process.env.SESSIONLOCK_TEST_MEMCACHED_ERROR = 'memcached is not installed; install it with: x';
      assert.throws(() => requireServiceUrl(service), /could not be started: memcached is not installed/);
      process.env.SESSIONLOCK_TEST_MEMCACHED_URL = 'memcached://127.0.0.1:1,memcached://127.0.0.1:2';
      assert.deepEqual(requireServiceUrls(service), ['memcached://127.0.0.1:1', 'memcached://127.0.0.1:2']);
    } finally {
      if (saved.url === undefined) delete process.env.SESSIONLOCK_TEST_MEMCACHED_URL;
      else process.env.SESSIONLOCK_TEST_MEMCACHED_URL = saved.url;
      if (saved.error === undefined) delete process.env.SESSIONLOCK_TEST_MEMCACHED_ERROR;
      else process.env.SESSIONLOCK_TEST_MEMCACHED_ERROR = saved.error;
    }
  });

  it('names the apt-get command for missing packages', () => {
    assert.equal(installCommand(['redis-server', 'nginx']), 'sudo apt-get install -y --no-install-recommends redis-server nginx');
  });

  it('reports a server that exits before listening, with its log', async () => {
    const { logDir } = serviceDirs('broken');
    const port = await freePort();
    await assert.rejects(
      spawnServer({ name: 'broken', command: '/bin/sh', args: ['-c', 'echo boom-from-the-log; exit 3'], port, logPath: join(logDir, 'server.log') }),
      /exited \(3\) before accepting connections[\s\S]*boom-from-the-log/,
    );
  });

  it('stops a server that ignores SIGTERM with SIGKILL after the bound', { timeout: 30_000 }, async () => {
    const { logDir } = serviceDirs('stubborn');
    const port = await freePort();
    const script = `process.on('SIGTERM', () => console.log('ignoring SIGTERM')); require('node:net').createServer().listen(${port}, '127.0.0.1');`;
    const server = await spawnServer({ name: 'stubborn', command: process.execPath, args: ['-e', script], port, logPath: join(logDir, 'server.log') });
    assert.equal(await portAccepts(port), true);
    await server.stop();
    assert.equal(await portAccepts(port), false);
  });
});
