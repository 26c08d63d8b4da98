import { LockLostError, SessionDestroyedError, StoreError, type SessionError } from '../errors.js';
import type { Lease, SessionStore, StoredRecord, WriteGuard, WriteOp, WriteResult } from '../stores/types.js';
import { storeFailure } from './_store-call.js';
import type { LocalLocks } from './local-locks.js';

/**
 * What a local hand-off passes to the next waiter: the lease, and the record as the
 * handing-off commit writes it. The next handler runs on it while that write is still in
 * flight (group commit), so two fields are estimates until the write returns: `version`
 * (a write carrying several commits bumps it once) and `lease.until` (the lease is
 * extended when the write lands). Nothing may rely on them: the change check compares
 * text (`loadedText`), and leased writes are fenced by the token, never by the version.
 */
export interface Handoff {
  readonly record: StoredRecord;
  readonly lease: Lease;
}

/** What one commit of a chain asks to have written, under the chain's lease. */
export type ChainOp =
  | { readonly kind: 'save'; readonly data: string | undefined; readonly expiresAt: number | undefined }
  | { readonly kind: 'delete' }
  | { readonly kind: 'release' };

/** A commit (or release) of a chain that waits for the write that covers it. */
interface Entry {
  readonly op: ChainOp;
  /** The session went on to the next local waiter with this entry's result. */
  readonly handedOff: boolean;
  readonly resolve: (result: WriteResult) => void;
  readonly reject: (error: SessionError) => void;
}

/**
 * The writes of one session's run of local hand-offs, all under one lease token.
 * Invariant: while a chain exists, this process holds the session's local lock, and every
 * request holding the session holds it through the chain (same token).
 */
interface Chain {
  readonly key: string;
  readonly guard: WriteGuard;
  readonly store: SessionStore;
  /** Entries not yet written, oldest first. */
  readonly pending: Entry[];
  /** A write (or the release after a failure) is in flight; there is never more than one per key. */
  writing: boolean;
  /** Why a write failed, once one did: nothing more of this chain is ever written. */
  broken: SessionError | WriteResult['status'] | undefined;
  /** Its last entry did not hand the session on: no request holds it through the chain any more. */
  closed: boolean;
}

/** What a release that has nothing to do answers; releases never fail their caller. */
const NOTHING_TO_RELEASE: WriteResult = { status: 'ok' };
const RELEASE: WriteOp = { kind: 'release' };

function writeOf(store: SessionStore, key: string, guard: WriteGuard, op: WriteOp): Promise<WriteResult> {
  try {
    return store.write(key, guard, op);
  } catch (error) {
    // A store that throws instead of rejecting must not leave the chain stuck with `writing` set.
    return Promise.reject(error as Error);
  }
}

/**
 * What a commit that ran on a failed predecessor's unsaved changes fails with: the same
 * kind of failure, so an adapter answers it the same way (a store outage stays a 503,
 * not a lock conflict), with the predecessor's error as the cause.
 */
function followerError(failure: SessionError | WriteResult['status']): SessionError {
  if (failure === 'gone') return new SessionDestroyedError('commit');
  if (typeof failure === 'string') {
    return new LockLostError('commit', 'an earlier request of this session, whose unsaved changes this request ran on, lost the lock');
  }
  if (failure instanceof StoreError) return new StoreError(failure.store, failure.operation, { cause: failure });
  return new LockLostError('commit', 'an earlier request of this session, whose unsaved changes this request ran on, failed to save');
}

/**
 * Group commit for runs of local hand-offs. A commit that hands the session to the next
 * waiter of this process does so at once, with the record as its write will make it, so
 * the next handler runs while that write is in flight. Writes of one key stay strictly
 * ordered, one at a time; commits that queue meanwhile go out in ONE write carrying the
 * newest data (each handler ran on its predecessor's result, so the newest text holds
 * every earlier change). Each commit settles only when a write covering it returned.
 *
 * When a write fails, its commits fail as they would alone, and every later commit of the
 * chain (they ran on the failed commit's unsaved data) fails with the same kind of error;
 * nothing more of the chain is written. The local queue is left (waiters told to go to the store)
 * only once the chain's lease is settled: released, or known to be lost.
 *
 * @internal
 */
export class CommitChains {
  readonly #chains = new Map<string, Chain>();
  readonly #locks: LocalLocks<Handoff>;
  readonly #holdMs: number;
  readonly #report: (error: unknown) => void;

  /**
   * @param locks - The manager's in-process queues, to hand sessions on and to leave them.
   * @param holdMs - How long a write keeps the lease for the next holder (`lock.leaseMs`).
   * @param report - Receives failures no caller can (a release after a failed write).
   */
  constructor(locks: LocalLocks<Handoff>, holdMs: number, report: (error: unknown) => void) {
    this.#locks = locks;
    this.#holdMs = holdMs;
    this.#report = report;
  }

  /**
   * True while `key` has writes of a chain in flight or queued, or a holder that ran on a
   * failed one: every commit, delete and release of `key` must then go through `submit`,
   * so it is ordered behind them (a release that overtook a save keeping the lease, on
   * another pool connection, would make that save fail).
   */
  has(key: string): boolean {
    return this.#chains.has(key);
  }

  /**
   * Queue `op` under the lease `token` of `key`, starting a chain if there is none, and,
   * with `next`, hand the session to the next local waiter at once. Resolves with the
   * result of the write that covered `op`; a release always resolves.
   *
   * @throws StoreError when that write, or an earlier one of the chain, failed in the
   *   store; the cause is attached.
   * @throws LockLostError or SessionDestroyedError when that write, or an earlier one of
   *   the chain, found the lease lost or the session gone.
   */
  submit(key: string, op: ChainOp, next: Handoff | undefined, store: SessionStore, token: string): Promise<WriteResult> {
    let found = this.#chains.get(key);
    if (found === undefined) {
      found = { key, guard: { kind: 'lease', token }, store, pending: [], writing: false, broken: undefined, closed: false };
      this.#chains.set(key, found);
    }
    const chain = found;
    if (chain.broken !== undefined) {
      // This request ran on changes that were never saved: nothing it did may land. A
      // broken chain hands nothing on, so it was the chain's last holder.
      chain.closed = true;
      this.#finishIfIdle(chain);
      return op.kind === 'release' ? Promise.resolve(NOTHING_TO_RELEASE) : Promise.reject(followerError(chain.broken));
    }
    const handedOff = next !== undefined && this.#locks.handOff(key, next);
    if (!handedOff) chain.closed = true;
    const covered = new Promise<WriteResult>((resolve, reject) => {
      chain.pending.push({ op, handedOff, resolve, reject });
    });
    if (!chain.writing) this.#writeNext(chain);
    return covered;
  }

  /** Issue one write for everything queued that can go together, or finish the chain. */
  #writeNext(chain: Chain): void {
    const { pending } = chain;
    const first = pending[0];
    if (first === undefined) {
      chain.writing = false;
      this.#finishIfIdle(chain);
      return;
    }
    let count = 1;
    let op: WriteOp = first.op;
    if (first.op.kind === 'save') {
      let { data, expiresAt } = first.op;
      let hold = first.handedOff;
      for (; count < pending.length; count += 1) {
        const entry = pending[count] as Entry;
        if (entry.op.kind === 'release') {
          // Saving and letting go is one write; a release is always the chain's last entry.
          hold = false;
          count += 1;
          break;
        }
        // A delete goes alone, after the saves before it.
        if (entry.op.kind !== 'save') break;
        // An unchanged commit's text equals its predecessor's: the newest defined data is the newest text.
        data = entry.op.data ?? data;
        expiresAt = entry.op.expiresAt ?? expiresAt;
        hold = entry.handedOff;
      }
      // Keep the lease only while a request of this process holds the session after the newest commit.
      op = hold ? { kind: 'save', data, expiresAt, holdMs: this.#holdMs } : { kind: 'save', data, expiresAt };
    }
    const group = pending.splice(0, count);
    chain.writing = true;
    writeOf(chain.store, chain.key, chain.guard, op).then(
      (result) => this.#written(chain, group, result),
      (error: unknown) => this.#failed(chain, group, storeFailure(chain.store, 'write', error)),
    );
  }

  #written(chain: Chain, group: Entry[], result: WriteResult): void {
    for (const entry of group) entry.resolve(result);
    // Lost, gone or conflict: the lease is not ours any more, so there is nothing to release.
    if (result.status !== 'ok') this.#break(chain, result.status);
    this.#writeNext(chain);
  }

  #failed(chain: Chain, group: Entry[], error: SessionError): void {
    let reachedCaller = false;
    for (const entry of group) {
      if (entry.op.kind === 'release') {
        entry.resolve(NOTHING_TO_RELEASE);
      } else {
        entry.reject(error);
        reachedCaller = true;
      }
    }
    // A lone release has no caller waiting for its outcome.
    if (!reachedCaller) this.#report(error);
    this.#break(chain, error);
    if (!reachedCaller) {
      this.#writeNext(chain);
      return;
    }
    // The write may or may not have landed, so we may still hold the lease: give it back
    // before any request of this process is sent to the store for it.
    writeOf(chain.store, chain.key, chain.guard, RELEASE).then(
      () => this.#writeNext(chain),
      (releaseError: unknown) => {
        this.#report(storeFailure(chain.store, 'write', releaseError));
        this.#writeNext(chain);
      },
    );
  }

  /** Fail everything queued behind a failed write: it all ran on data that was never saved. */
  #break(chain: Chain, failure: SessionError | WriteResult['status']): void {
    chain.broken = failure;
    for (const entry of chain.pending.splice(0)) {
      if (entry.op.kind === 'release') entry.resolve(NOTHING_TO_RELEASE);
      else entry.reject(followerError(failure));
    }
  }

  #finishIfIdle(chain: Chain): void {
    if (chain.writing || chain.pending.length > 0) return;
    if (chain.closed) {
      this.#chains.delete(chain.key);
      this.#locks.leave(chain.key);
    } else if (chain.broken === undefined) {
      // Everything is written and the lease kept for the request now holding the
      // session: it commits as the head of a new chain, or alone like any request.
      this.#chains.delete(chain.key);
    }
    // Broken and still held: kept, so that the holder's commit fails and then leaves.
  }
}
