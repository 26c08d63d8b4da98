// The file store remembers the records it wrote last, with their files kept open, and
// trusts that memory only while the record's path still names the same file
// (src/stores/_file-written-records.ts), and the folders it flushed last
// (src/stores/_file-folder-syncs.ts). Another writer, or a removal, must always show.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSessionId, storeKeyOf } from '../../src/core/ids.js';
import { createFileStore } from '../../src/stores/file.js';
import type { SessionStore } from '../../src/stores/types.js';

function freshDir(): string {
  return mkdtempSync(join(tmpdir(), 'sessionlock-file-own-'));
}

async function create(store: SessionStore, key: string, data: string): Promise<void> {
  const now = Date.now();
  const result = await store.write(key, { kind: 'create' }, { kind: 'save', data, expiresAt: now + 60_000, createdAt: now });
  assert.equal(result.status, 'ok');
}

/** Descriptors of this process open on files under `dir` (Linux: /proc/self/fd). */
function openUnder(dir: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch (error) {
      // The descriptor readdir itself used is closed by now.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }).length;
}

/** Two stores on one folder, as two processes would be, and a record `ours` created. */
async function twoStoresOnOneRecord(): Promise<{ ours: SessionStore; theirs: SessionStore; key: string }> {
  const dir = freshDir();
  const ours = createFileStore({ dir, fsync: false });
  const theirs = createFileStore({ dir, fsync: false });
  const key = storeKeyOf(createSessionId());
  await create(ours, key, '{"n":1}');
  return { ours, theirs, key };
}

describe('file store: records it wrote last', () => {
  it('reads a record another store changed from disk, not from memory', async () => {
    const { ours, theirs, key } = await twoStoresOnOneRecord();
    assert.equal((await ours.read(key))?.data, '{"n":1}');
    assert.equal((await theirs.write(key, { kind: 'exists' }, { kind: 'save', data: '{"n":2}', expiresAt: undefined })).status, 'ok');
    assert.deepEqual(await ours.read(key), await theirs.read(key));
    assert.equal((await ours.read(key))?.data, '{"n":2}');
    // A guarded write decides from the record on disk, too.
    assert.equal((await ours.write(key, { kind: 'version', version: 1 }, { kind: 'save', data: '{"n":3}', expiresAt: undefined })).status, 'conflict');
    await Promise.all([ours.close(), theirs.close()]);
  });

  it('finds a record that another store removed missing', async () => {
    const { ours, theirs, key } = await twoStoresOnOneRecord();
    assert.equal((await theirs.write(key, { kind: 'exists' }, { kind: 'delete' })).status, 'ok');
    assert.equal(await ours.read(key), null);
    assert.equal((await ours.acquire(key, 'token', 1000)).status, 'missing');
    await Promise.all([ours.close(), theirs.close()]);
  });

  it('keeps a bounded number of files and folders open, and none after close()', async () => {
    const dir = freshDir();
    // With fsync on, the store also keeps the folders it flushed last open.
    const store = createFileStore({ dir });
    for (let i = 0; i < 200; i += 1) await create(store, storeKeyOf(createSessionId()), `{"n":${i}}`);
    if (existsSync('/proc/self/fd')) {
      const open = openUnder(dir);
      // At most 128 records and 64 folders.
      assert.ok(open > 0 && open <= 128 + 64, `${open} descriptors open under the store's folder`);
    }
    await store.close();
    if (existsSync('/proc/self/fd')) assert.equal(openUnder(dir), 0);
  });
});
