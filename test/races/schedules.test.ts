// Seed 002's ten schedulings of a request (Load, Process, Save) against a sweep (Check,
// Delete), driven one step at a time, for every store that sweeps; and seed 001's race,
// a save that lands between a cleanup's collect and its delete.
//
// The clock is node:test's fake Date, so "the session expires between two steps" is
// exact, not a matter of sleeping. A session saved at t0 with a 1 s idle timeout
// expires at t0 + 1000; the request's Load happens at t0 + 999 (seed 001: "at 99.9
// seconds A loads its session data, which is still valid"); C moves the clock to
// t0 + 1001 and starts the sweep, which takes its cluster-wide lease and stops at a
// pause point before its first batch; D opens that pause point and lets the batch run.
// Our sweeps have no separate check: every store re-checks expiry, grace and lease in
// the same atomic step as the delete (one SQL statement; one synchronous step in memory;
// under the record's own lock for files). These tests show that in exclusive mode the
// request's lease keeps the session in all ten schedulings, even with no grace period;
// and that in optimistic mode, where no lease is held, a save that comes after the
// expiry is refused with a typed error (the store contract never revives an expired
// record without a lease), so the request is told, never silently dropped.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { storeKeyOf } from '../../src/core/ids.js';
import { sweepSingleFlight } from '../../src/core/sweeper.js';
import { createSessionManager, SessionDestroyedError, type Session, type SessionStore, type SweepResult } from '../../src/index.js';
import { createGate, raceTargets } from './_stores.js';

/** Every way to interleave two sequences of steps, keeping each one's own order. */
function interleavings(a: string, b: string): string[] {
  if (a === '') return [b];
  if (b === '') return [a];
  return [...interleavings(a.slice(1), b).map((rest) => a[0] + rest), ...interleavings(a, b.slice(1)).map((rest) => b[0] + rest)];
}

/** The list exactly as seed 002 numbers it. */
const SEED_002 = ['CDLPS', 'CLDPS', 'CLPDS', 'CLPSD', 'LCDPS', 'LCPDS', 'LCPSD', 'LPCDS', 'LPCSD', 'LPSCD'];

interface Variant {
  readonly label: string;
  readonly mode: 'exclusive' | 'optimistic';
  readonly graceMs: number;
}

const VARIANTS: readonly Variant[] = [
  { label: 'exclusive mode, no grace period: the lease keeps it', mode: 'exclusive', graceMs: 0 },
  { label: 'exclusive mode, default grace period: the lease keeps it', mode: 'exclusive', graceMs: 60_000 },
  { label: 'optimistic mode, no grace period: a late save is refused, never lost silently', mode: 'optimistic', graceMs: 0 },
  { label: 'optimistic mode, default grace period: a late save is refused, never lost silently', mode: 'optimistic', graceMs: 60_000 },
];

const secret = 'race-test-secret';
let nextT0 = Date.now();

interface Outcome {
  loaded: boolean;
  committed: boolean;
  commitError: unknown;
  swept: SweepResult;
  newKey: string;
}

/** True when the store still holds a record for `key`, expired or not (a create conflicts with it). */
async function stillStored(store: SessionStore, key: string): Promise<boolean> {
  const now = Date.now();
  const probe = await store.write(key, { kind: 'create' }, { kind: 'save', data: '{}', expiresAt: now + 1, createdAt: now });
  return probe.status === 'conflict';
}

async function play(store: SessionStore, schedule: string, variant: Variant, oldKeyOut: { key?: string }): Promise<Outcome> {
  // Each run starts later than the last, so records of one never look "from the future" to another.
  const t0 = (nextT0 += 10_000);
  mock.timers.setTime(t0);
  const manager = createSessionManager({ store, secret, idleTimeout: 1, sweep: false, lock: { mode: variant.mode } });
  const first = await manager.open(undefined);
  first.data.n = 1;
  const cookie = ((await manager.commit(first)) as string).split(';')[0];
  oldKeyOut.key = storeKeyOf(first.id);
  mock.timers.setTime(t0 + 999);

  let session: Session | undefined;
  let loaded = false;
  let committed = false;
  let commitError: unknown;
  let sweeping: Promise<SweepResult> | undefined;
  let swept: SweepResult | undefined;
  const reached = createGate();
  const proceed = createGate();
  for (const step of schedule) {
    switch (step) {
      case 'L':
        session = await manager.open(cookie, { mode: variant.mode });
        loaded = !session.isNew;
        break;
      case 'P': {
        const s = session as Session;
        s.data.n = (typeof s.data.n === 'number' ? s.data.n : 0) + 1;
        break;
      }
      case 'S':
        try {
          await manager.commit(session as Session);
          committed = true;
        } catch (error) {
          commitError = error;
        }
        break;
      case 'C':
        mock.timers.setTime(t0 + 1001);
        sweeping = sweepSingleFlight(store, { graceMs: variant.graceMs }, {
          onExclusive: async (phase) => {
            if (phase !== 'start') return;
            reached.open();
            await proceed.passed;
          },
        });
        await reached.passed;
        break;
      case 'D':
        proceed.open();
        swept = await (sweeping as Promise<SweepResult>);
        break;
    }
  }
  return { loaded, committed, commitError, swept: swept as SweepResult, newKey: storeKeyOf((session as Session).id) };
}

describe('races: seed 002, the ten schedulings of load/process/save against check/delete', () => {
  it('the list of schedulings is complete', () => {
    assert.deepEqual(interleavings('LPS', 'CD').sort(), SEED_002);
  });

  for (const target of raceTargets) {
    describe(target.name, () => {
      for (const variant of VARIANTS) {
        describe(variant.label, () => {
          SEED_002.forEach((schedule, index) => {
            it(`${String(index + 1).padStart(2, '0')} ${schedule}`, async () => {
              mock.timers.enable({ apis: ['Date'] });
              const store = target.open();
              try {
                const old: { key?: string } = {};
                const outcome = await play(store, schedule, variant, old);
                const oldKey = old.key as string;
                const loadedBeforeExpiry = schedule.indexOf('L') < schedule.indexOf('C');
                const deleteBeforeSave = schedule.indexOf('D') < schedule.indexOf('S');
                assert.equal(outcome.swept.skipped, false, 'the sweep ran');
                assert.equal(outcome.loaded, loadedBeforeExpiry, 'a load before the expiry sees the session, after it sees none');
                if (!outcome.loaded) {
                  // The session had expired before the request came: it starts a new one, and
                  // with no grace period and no lease the sweep removed the old one.
                  assert.equal(outcome.committed, true, 'the new session was saved');
                  assert.deepEqual(JSON.parse((await store.read(outcome.newKey))?.data ?? 'null'), { n: 1 });
                  assert.equal(outcome.swept.deleted, variant.graceMs === 0 ? 1 : 0);
                  return;
                }
                const saveAfterExpiry = schedule.indexOf('S') > schedule.indexOf('C');
                if (variant.mode === 'optimistic' && saveAfterExpiry) {
                  // No lease: the session expired before the save, so the save is refused with a
                  // typed error instead of bringing it back; the sweep removes it only when it
                  // is unleased and past the grace period at the instant of the delete.
                  assert.ok(outcome.commitError instanceof SessionDestroyedError, 'the save failed with SessionDestroyedError');
                  assert.equal(outcome.swept.deleted, variant.graceMs === 0 ? 1 : 0);
                  assert.equal(await store.read(oldKey), null, 'it is not served');
                  assert.equal(await stillStored(store, oldKey), variant.graceMs !== 0, 'and was not resurrected');
                  return;
                }
                assert.equal(deleteBeforeSave && variant.mode === 'optimistic', false);
                assert.equal(outcome.commitError, undefined, 'the save succeeded');
                assert.equal(outcome.committed, true);
                assert.equal(outcome.swept.deleted, 0, 'the sweep removed nothing');
                const record = await store.read(oldKey);
                assert.ok(record !== null, 'the valid session is still there');
                assert.deepEqual(JSON.parse(record.data), { n: 2 }, 'with the request\'s update');
              } finally {
                await store.close();
                mock.timers.reset();
              }
            });
          });
        });
      }
    });
  }
});

describe('races: seed 001, a save between a cleanup\'s collect and its delete', () => {
  for (const target of raceTargets) {
    {
      const mode = 'exclusive';
      it(`${target.name}: the session saved in between is kept`, async () => {
        mock.timers.enable({ apis: ['Date'] });
        const store = target.open();
        try {
          const t0 = (nextT0 += 10_000);
          mock.timers.setTime(t0);
          const manager = createSessionManager({ store, secret, idleTimeout: 100, sweep: false });
          const first = await manager.open(undefined);
          first.data.n = 1;
          const cookie = ((await manager.commit(first)) as string).split(';')[0];
          const key = storeKeyOf(first.id);
          // 1. At 99.9 s, A loads its session, still valid.
          mock.timers.setTime(t0 + 99_900);
          const a = await manager.open(cookie, { mode });
          assert.equal(a.isNew, false);
          // 2. The clock passes 100 s. 4. B collects: the session is expired by now.
          mock.timers.setTime(t0 + 100_001);
          assert.equal(await store.read(key), null, 'B sees it expired');
          const collected = createGate();
          const proceed = createGate();
          const cleanup = sweepSingleFlight(store, { graceMs: 0 }, {
            onExclusive: async (phase) => {
              if (phase !== 'start') return;
              collected.open();
              await proceed.passed;
            },
          });
          await collected.passed;
          // 6. A saves its session data.
          a.data.n = 2;
          await manager.commit(a);
          // 8. B deletes what it collected.
          proceed.open();
          const result = await cleanup;
          assert.equal(result.deleted, 0, 'the sweep re-checked and kept it');
          const record = await store.read(key);
          assert.ok(record !== null, 'session 123 is still there');
          assert.deepEqual(JSON.parse(record.data), { n: 2 });
        } finally {
          await store.close();
          mock.timers.reset();
        }
      });
    }
  }
});
