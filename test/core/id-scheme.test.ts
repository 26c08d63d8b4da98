import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSessionManager, defaultIdScheme, type SessionIdScheme } from '../../src/index.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { countingStore } from '../fixtures/counting-store.js';

/** A readable scheme: `v:<id>:<secret>` cookies, ids from a counter, keys prefixed. */
function plainScheme(): SessionIdScheme & { made: number } {
  const scheme = {
    made: 0,
    create: () => `id${(scheme.made += 1)}`,
    encode: (id: string, secrets: readonly string[]) => `v:${id}:${secrets[0]}`,
    decode: (value: string, secrets: readonly string[]) => {
      const [prefix, id, secret] = value.split(':');
      return prefix === 'v' && id !== undefined && secret !== undefined && secrets.includes(secret) ? id : null;
    },
    storeKey: (id: string) => `key-${id}`,
  };
  return scheme;
}

describe('SessionManager ids option', () => {
  it('makes, signs, reads and keys ids with the given scheme', async () => {
    const ids = plainScheme();
    const store = createMemoryStore();
    const manager = createSessionManager({ store, secret: 'k', ids, sweep: false });
    const session = await manager.open(undefined);
    assert.equal(session.id, 'id1');
    session.data.a = 1;
    const setCookie = (await manager.commit(session)) as string;
    assert.match(setCookie, /^sid=v%3Aid1%3Ak;/);
    assert.notEqual(await store.read('key-id1'), null, 'stored under the scheme key');
    const again = await manager.open('sid=v:id1:k');
    assert.equal(again.isNew, false);
    assert.equal(again.data.a, 1);
    await manager.commit(again);
    assert.equal((await manager.open('sid=v:id1:wrong')).isNew, true, 'a bad signature is a new session');
  });

  it('uses a per-request createId for new and regenerated sessions', async () => {
    const counted = countingStore(createMemoryStore());
    const manager = createSessionManager({ store: counted.store, secret: 'k', sweep: false });
    let n = 0;
    const createId = (): string => defaultIdScheme.create().slice(0, 42) + String((n += 1) % 10);
    const session = await manager.open(undefined, { createId });
    assert.equal(n, 1);
    session.data.a = 1;
    const cookie = ((await manager.commit(session)) as string).split(';')[0] as string;
    const loaded = await manager.open(cookie, { createId });
    loaded.regenerate();
    assert.equal(n, 2);
    assert.equal(loaded.id.at(-1), '2');
    assert.ok((await manager.commit(loaded))?.startsWith('sid=s1.'));
  });
});
