import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sessions } from '../../src/adapters/fetch.js';
import { createSessionManager } from '../../src/index.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { runAdapterScenarios } from './_scenarios.js';
import { startFetch } from './_apps/fetch.js';

runAdapterScenarios({ name: 'fetch', start: startFetch, test: { describe, it } });

describe('fetch adapter: open and commit by hand', () => {
  it('answers the Set-Cookie to add, then reads the session back, read-only on request', async () => {
    const manager = createSessionManager({ store: createMemoryStore(), secret: 's', sweep: false });
    const opener = sessions(manager);
    const first = await opener.open(new Request('https://example.test/'));
    first.session.data.hits = 1;
    const headers = await first.commit();
    const setCookie = headers.getSetCookie()[0] ?? '';
    assert.match(setCookie, /; Secure/, 'https request: Secure cookie');
    const cookie = setCookie.split(';')[0] as string;
    const again = await opener.open(new Request('https://example.test/poll', { headers: { cookie } }), { mode: 'readonly' });
    assert.equal(again.session.mode, 'readonly');
    assert.equal(again.session.data.hits, 1);
    assert.throws(() => {
      again.session.data.hits = 2;
    }, /read-only/);
    assert.equal((await again.commit()).getSetCookie().length, 0);
    await manager.close();
  });
});
