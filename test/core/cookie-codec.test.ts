import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCookieValue, encodeCookieValue } from '../../src/core/cookie-codec.js';
import { createSessionId } from '../../src/core/ids.js';

describe('cookie codec', () => {
  const id = createSessionId();

  it('round-trips an id signed with the current secret', () => {
    assert.equal(decodeCookieValue(encodeCookieValue(id, ['new', 'old']), ['new', 'old']), id);
  });

  it('accepts a cookie signed with an older secret during rotation', () => {
    assert.equal(decodeCookieValue(encodeCookieValue(id, ['old']), ['new', 'old']), id);
    assert.equal(decodeCookieValue(encodeCookieValue(id, ['old']), ['new']), null);
  });

  it('rejects tampered, malformed and oversized values without throwing', () => {
    const good = encodeCookieValue(id, ['s']);
    const flipped = good.slice(0, -1) + (good.endsWith('A') ? 'B' : 'A');
    const otherId = encodeCookieValue(createSessionId(), ['s']).split('.')[1] as string;
    for (const bad of [
      '',
      'garbage',
      flipped,
      good.replace(/^s1/, 's2'),
      `s1.${otherId}.${good.split('.')[2] as string}`,
      `${good}.extra`,
      'x'.repeat(10_000),
      's1.../..%00',
    ]) {
      assert.equal(decodeCookieValue(bad, ['s']), null, bad.slice(0, 40));
    }
  });

  it('makes ids of 256 bits, all different', () => {
    const ids = new Set(Array.from({ length: 1000 }, createSessionId));
    assert.equal(ids.size, 1000);
    assert.equal(Buffer.from(id, 'base64url').length, 32);
  });
});
