/**
 * The lease state machine, in plain TypeScript, for stores that keep a whole record as
 * one value and swap it atomically by their own means: memory (synchronously), file
 * (under the record's operation lock), memcached (by compare-and-swap). SQL and Lua
 * stores implement the same rules natively; the conformance suite holds them all to it.
 */
import type { AcquireResult, StoredRecord, WriteGuard, WriteOp, WriteResult } from './types.js';

/** A record with its lease, as one value. */
export interface LeasedRecord extends StoredRecord {
  /** Token of the lease holder, or null when free. */
  readonly leaseToken: string | null;
  /** When the lease lapses (epoch ms); meaningless when `leaseToken` is null. */
  readonly leaseUntil: number;
}

/** What an operation decided: the answer, and the value to store (undefined: unchanged; null: remove). */
export interface Transition<R> {
  readonly result: R;
  readonly next: LeasedRecord | null | undefined;
}

/** True when someone holds a lease on `entry` that has not lapsed at `now`. */
export function leaseIsLive(entry: Pick<LeasedRecord, 'leaseToken' | 'leaseUntil'>, now: number): boolean {
  return entry.leaseToken !== null && entry.leaseUntil > now;
}

/** The record without its lease fields. */
export function publicRecord(entry: LeasedRecord): StoredRecord {
  return { data: entry.data, createdAt: entry.createdAt, expiresAt: entry.expiresAt, version: entry.version };
}

/** Take the lease if the record is live and free. */
export function decideAcquire(
  entry: LeasedRecord | undefined,
  token: string,
  leaseMs: number,
  now: number,
): Transition<AcquireResult> {
  if (entry === undefined || entry.expiresAt <= now) return { result: { status: 'missing' }, next: undefined };
  if (leaseIsLive(entry, now)) return { result: { status: 'busy', leaseUntil: entry.leaseUntil }, next: undefined };
  const leaseUntil = now + leaseMs;
  return {
    result: { status: 'acquired', record: publicRecord(entry), lease: { token, until: leaseUntil } },
    next: { ...entry, leaseToken: token, leaseUntil },
  };
}

/** Extend our own lease. */
export function decideRenew(
  entry: LeasedRecord | undefined,
  token: string,
  leaseMs: number,
  now: number,
): Transition<boolean> {
  if (entry === undefined || entry.leaseToken !== token) return { result: false, next: undefined };
  return { result: true, next: { ...entry, leaseUntil: now + leaseMs } };
}

/** The lease and expiry columns of a record, as a probe after a refused statement reads them. */
export type LeaseState = Pick<LeasedRecord, 'expiresAt' | 'version' | 'leaseToken' | 'leaseUntil'>;

/**
 * Why a guarded statement that matched no row was refused, from a probe of the row
 * made right after it. For stores whose statements report only "no row".
 */
export function explainRefusal(state: LeaseState | undefined, guard: WriteGuard, now: number): WriteResult {
  return refuse(state, guard, now) ?? { status: 'conflict' };
}

/**
 * Why an acquire that matched no row was refused: the record is missing or expired, or
 * it is busy. A record found free by the probe was released in between: that is `busy`
 * too, so the caller simply tries again.
 */
export function explainBusy(state: LeaseState | undefined, now: number): AcquireResult {
  if (state === undefined || state.expiresAt <= now) return { status: 'missing' };
  return { status: 'busy', leaseUntil: state.leaseUntil };
}

function refuse(entry: LeaseState | undefined, guard: WriteGuard, now: number): WriteResult | undefined {
  switch (guard.kind) {
    case 'create':
      return entry === undefined ? undefined : { status: 'conflict' };
    case 'exists':
      return entry === undefined || entry.expiresAt <= now ? { status: 'gone' } : undefined;
    case 'lease':
      if (entry === undefined) return { status: 'gone' };
      return entry.leaseToken === guard.token ? undefined : { status: 'lost' };
    case 'version':
      if (entry === undefined || entry.expiresAt <= now) return { status: 'gone' };
      return entry.version !== guard.version || leaseIsLive(entry, now) ? { status: 'conflict' } : undefined;
  }
}

/** Apply one guarded write. */
export function decideWrite(
  entry: LeasedRecord | undefined,
  guard: WriteGuard,
  op: WriteOp,
  now: number,
): Transition<WriteResult> {
  const refusal = refuse(entry, guard, now);
  if (refusal !== undefined) return { result: refusal, next: undefined };
  if (op.kind === 'delete') return { result: { status: 'ok' }, next: null };
  if (op.kind === 'release') {
    return { result: { status: 'ok' }, next: entry === undefined ? undefined : { ...entry, leaseToken: null, leaseUntil: 0 } };
  }
  if (entry === undefined) {
    if (op.data === undefined || op.expiresAt === undefined) throw new TypeError('a new record needs data and an expiry');
    const created: LeasedRecord = {
      data: op.data,
      createdAt: op.createdAt ?? now,
      expiresAt: op.expiresAt,
      version: 1,
      leaseToken: null,
      leaseUntil: 0,
    };
    return { result: { status: 'ok', version: 1 }, next: created };
  }
  const keepLease = guard.kind === 'lease' && op.holdMs !== undefined;
  const next: LeasedRecord = {
    data: op.data ?? entry.data,
    createdAt: entry.createdAt,
    expiresAt: op.expiresAt ?? entry.expiresAt,
    version: op.data === undefined ? entry.version : entry.version + 1,
    // A read-only touch or a last-writer-wins save leaves someone else's lease alone.
    leaseToken: guard.kind === 'lease' && !keepLease ? null : entry.leaseToken,
    leaseUntil: keepLease ? now + (op.holdMs ?? 0) : guard.kind === 'lease' ? 0 : entry.leaseUntil,
  };
  return {
    result: { status: 'ok', version: next.version, ...(keepLease ? { leaseUntil: next.leaseUntil } : {}) },
    next,
  };
}

/** True when a sweep may remove `entry` at `now`: expired beyond the grace period and not leased. */
export function isSweepable(entry: LeasedRecord, graceMs: number, now: number): boolean {
  return entry.expiresAt + graceMs < now && !leaseIsLive(entry, now);
}
