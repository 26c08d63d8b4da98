/** Starts each example in examples/ (as a user would, importing the built `sessionlock/...`) and talks to it. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = ['express', 'fastify', 'koa', 'hono', 'fetch', 'node'];

/** Runs an example on a random port; answers its URL once it prints it, and a stop function. */
async function start(name: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [`examples/${name}.js`], {
    cwd: root,
    env: { ...process.env, PORT: '0', SESSION_SECRET: 'example-secret', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 20 s: ${stderr}`)), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}: ${stderr}`));
    });
  });
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

describe('examples', () => {
  for (const name of EXAMPLES) {
    it(`${name}: counts hits on one cookie and reads them from a read-only route`, async () => {
      // The examples import the package by name, which resolves to the build.
      assert.ok(existsSync(`${root}dist/adapters/${name}.js`), 'dist/ is missing: run `npm run build` first');
      const app = await start(name);
      try {
        const first = await fetch(app.url);
        assert.equal(await first.text(), 'hits: 1\n');
        const cookie = first.headers.getSetCookie()[0]?.split(';')[0] ?? '';
        assert.equal(await (await fetch(app.url, { headers: { cookie } })).text(), 'hits: 2\n');
        assert.deepEqual(await (await fetch(new URL('/poll', app.url), { headers: { cookie } })).json(), { hits: 2 });
      } finally {
        await app.stop();
      }
    });
  }
});
