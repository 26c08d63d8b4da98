// Logout racing a long poll: the long poll loaded the session, then the visitor logged
// out in another tab. Whatever the long poll does at its commit, it must not bring the
// session back, and it must be told with a typed error (Django's SessionInterrupted).
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { storeKeyOf } from '../../src/core/ids.js';
import {
  createSessionManager,
  LockLostError,
  SessionDestroyedError,
  type LockMode,
  type Session,
  type SessionManager,
  type SessionStore,
} from '../../src/index.js';
import { raceTargets } from './_stores.js';

const secret = 'logout-race-secret';

async function newSession(manager: SessionManager): Promise<{ cookie: string; key: string }> {
  const session = await manager.open(undefined);
  session.data.user = 'ada';
  const cookie = ((await manager.commit(session)) as string).split(';')[0] as string;
  return { cookie, key: storeKeyOf(session.id) };
}

/** The long poll's commit: a change in the modes that may write, a touch in readonly. */
async function finishLongPoll(manager: SessionManager, poll: Session): Promise<unknown> {
  if (poll.mode !== 'readonly') poll.data.seen = Date.now();
  try {
    await manager.commit(poll);
    return undefined;
  } catch (error) {
    return error;
  }
}

async function assertGone(store: SessionStore, key: string): Promise<void> {
  assert.equal(await store.read(key), null, 'the session is not served');
  const now = Date.now();
  // A create succeeds only where no record is stored, expired or not.
  const probe = await store.write(key, { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: now + 1000, createdAt: now });
  assert.equal(probe.status, 'ok', 'no record of it is stored');
}

function assertTyped(error: unknown): void {
  assert.ok(
    error instanceof SessionDestroyedError || error instanceof LockLostError,
    `the long poll's commit failed with a typed error (got ${String(error)})`,
  );
}

const MODES: readonly LockMode[] = ['exclusive', 'optimistic', 'readonly', 'none'];

describe('races: logout racing a long poll', () => {
  for (const target of raceTargets) {
    describe(target.name, () => {
      for (const mode of MODES) {
        it(`${mode}: logout through the manager wins, the long poll cannot revive the session`, async () => {
          const store = target.open();
          // A short lease that is not renewed (maxHoldMs 1) stands in for a long poll
          // that outlived its lease, the only way an exclusive logout can get in.
          const poller = createSessionManager({ store, secret, sweep: false, touchAfter: 0.001, lock: { leaseMs: 60, maxHoldMs: 1 } });
          const logout = createSessionManager({ store, secret, sweep: false, lock: { waitMs: 5000 } });
          try {
            const { cookie, key } = await newSession(poller);
            const poll = await poller.open(cookie, { mode });
            assert.equal(poll.isNew, false);
            const out = await logout.open(cookie, { mode: 'exclusive' });
            assert.equal(out.isNew, false);
            out.destroy();
            await logout.commit(out);
            // Let the readonly poll's touch come due (touchAfter is 1 ms).
            await sleep(5);
            assertTyped(await finishLongPoll(poller, poll));
            await assertGone(store, key);
          } finally {
            await store.close();
          }
        });

        it(`${mode}: a store delete wins even against a live lease`, async () => {
          const store = target.open();
          const poller = createSessionManager({ store, secret, sweep: false, touchAfter: 0.001 });
          try {
            const { cookie, key } = await newSession(poller);
            const poll = await poller.open(cookie, { mode });
            assert.equal((await store.write(key, { kind: 'exists' }, { kind: 'delete' })).status, 'ok');
            await sleep(5);
            assertTyped(await finishLongPoll(poller, poll));
            await assertGone(store, key);
          } finally {
            await store.close();
          }
        });
      }
    });
  }
});
