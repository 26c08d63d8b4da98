import { randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.js';
import type { SessionStore } from '../stores/types.js';
import { defaultIdScheme, type SessionIdScheme } from './id-scheme.js';
import { jsonSerializer, type Serializer } from './serializer.js';
import type { SweepOptions } from './sweep.js';

/**
 * How a request holds its session.
 * - `exclusive`: one request per session at a time, across processes and hosts (the default).
 * - `readonly`: a lock-free snapshot; never waits; writes throw `SessionStateError`.
 * - `optimistic`: no lock; the save is a compare-and-set on the version, and fails with
 *   `ConflictError` if the session changed or another request holds its lock.
 * - `none`: last writer wins, as other Node session libraries do. For compatibility and
 *   demonstration only: overlapping requests lose updates.
 */
export type LockMode = 'exclusive' | 'readonly' | 'optimistic' | 'none';

/** Lock options. */
export interface LockOptions {
  /** Mode of requests that do not choose one. @default 'exclusive' */
  mode?: LockMode;
  /** Longest a request waits for the session before `LockTimeoutError`, in ms. @default 10000 */
  waitMs?: number;
  /**
   * Lease length in ms. A holder that dies delays others by at most this much; a live
   * holder renews at a third of it. @default 30000
   */
  leaseMs?: number;
  /** Renewal stops after this many ms, so a stuck request cannot hold a session forever. @default 300000 */
  maxHoldMs?: number;
  /** Most requests of one process that may queue for one session. @default 1000 */
  maxWaiters?: number;
  /**
   * Longest run of back-to-back in-process hand-offs of a busy session, in ms, before the
   * lease goes back to the store so other processes get their turn. Only for stores
   * shared by several processes. @default 200
   */
  handoffWindowMs?: number;
}

/** Cookie options. The cookie holds only the signed id, never data. */
export interface CookieOptions {
  /** @default 'sid' */
  name?: string;
  /** @default '/' */
  path?: string;
  /** @default undefined (host-only) */
  domain?: string;
  /** `'auto'` sets `Secure` when the request came over https. @default 'auto' */
  secure?: boolean | 'auto';
  /** @default 'lax' */
  sameSite?: 'strict' | 'lax' | 'none';
  /** @default true */
  httpOnly?: boolean;
  /** CHIPS partitioned cookie. @default false */
  partitioned?: boolean;
  /**
   * When true the cookie carries `Max-Age` up to the session's expiry and is re-sent each
   * time the expiry is extended; when false it is a browser-session cookie and the
   * server alone enforces expiry. @default false
   */
  persistent?: boolean;
}

/**
 * How expired sessions are removed from stores whose records do not expire by
 * themselves (memory, file, SQLite, PostgreSQL, MySQL). Stores with native expiry
 * (Redis, memcached) ignore it.
 */
export interface SweeperOptions extends SweepOptions {
  /**
   * Sweep in the background, every `intervalMs` give or take 20 %. At most one sweep
   * runs at a time across every process and host sharing the store (a lease in the
   * store itself), so any number of instances may leave this on. Turn it off to sweep
   * only when you call `manager.sweep()`, e.g. from a cron job. @default true
   */
  background?: boolean;
  /** Mean pause between background sweeps, in ms. @default 300000 */
  intervalMs?: number;
  /**
   * Length of the cluster-wide sweeper lease, in ms, renewed while a sweep runs. A
   * sweeper that dies holds up the next sweep for at most this long. @default 60000
   */
  leaseMs?: number;
}

/** Options of `createSessionManager`. */
export interface SessionManagerOptions {
  /** A store object, or a store URL such as `sqlite:./data/sessions.db` or `memory:`. */
  store: SessionStore | string;
  /**
   * Secret(s) for the cookie signature: the first signs, every one verifies, so a secret
   * can be rotated by putting the new one first. Required, except under
   * `NODE_ENV=development` or `test`, where a random one is made (with a warning).
   */
  secret?: string | readonly string[];
  /** Seconds without a request after which a session expires. @default 1800 */
  idleTimeout?: number;
  /** Seconds after creation after which a session expires, however active. @default 43200 */
  absoluteTimeout?: number;
  /**
   * A session's expiry is rewritten only when this many seconds would be gained, so a
   * burst of requests does not rewrite the indexed expiry every time; idle expiry may
   * come up to this much early. Must be shorter than `idleTimeout`.
   * @default 60, or a tenth of `idleTimeout` when that is shorter
   */
  touchAfter?: number;
  /** Lock options. */
  lock?: LockOptions;
  /** Cookie options. */
  cookie?: CookieOptions;
  /** @default JSON that refuses values it cannot round-trip */
  serializer?: Serializer;
  /** Largest serialized session, in bytes. @default 65536 */
  maxDataBytes?: number;
  /**
   * Sweeping of expired sessions; `false` turns the background sweeper off (same as
   * `{ background: false }`). @default { background: true, intervalMs: 300000, graceMs: 60000, batchSize: 500, maxBlockMs: 1, budgetMs: 10000, leaseMs: 60000 }
   */
  sweep?: SweeperOptions | false;
  /**
   * How ids are made, signed into the cookie and keyed in the store. For adapters that
   * must read another library's cookies; applications rarely need it.
   * @default sessionlock's own scheme (`defaultIdScheme`)
   */
  ids?: SessionIdScheme;
}

/** Options after defaults and validation. */
export interface ResolvedOptions {
  readonly secrets: readonly string[];
  readonly idleMs: number;
  readonly absoluteMs: number;
  readonly touchAfterMs: number;
  readonly lock: Required<LockOptions>;
  readonly cookie: Required<Omit<CookieOptions, 'domain'>> & Pick<CookieOptions, 'domain'>;
  readonly serializer: Serializer;
  readonly maxDataBytes: number;
  readonly sweep: Required<SweeperOptions>;
  readonly ids: SessionIdScheme;
}

const LOCK_MODES: readonly LockMode[] = ['exclusive', 'readonly', 'optimistic', 'none'];
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function positive(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!Number.isFinite(result) || result <= 0) throw new ConfigError(`${name} must be a positive number`);
  return result;
}

/** Checks a lock mode chosen per request or in options. */
export function assertLockMode(mode: unknown): asserts mode is LockMode {
  if (!LOCK_MODES.includes(mode as LockMode)) {
    throw new ConfigError(`lock mode must be one of ${LOCK_MODES.join(', ')}`);
  }
}

function resolveSecrets(secret: string | readonly string[] | undefined): string[] {
  const secrets = typeof secret === 'string' ? [secret] : [...(secret ?? [])];
  if (secrets.length === 0) {
    const env = process.env.NODE_ENV;
    if (env !== 'development' && env !== 'test') {
      throw new ConfigError('a secret is required (set the "secret" option, e.g. from SESSION_SECRET)');
    }
    process.emitWarning(
      'sessionlock: no secret given, using a random one; sessions will not survive a restart',
      { code: 'SESSIONLOCK_EPHEMERAL_SECRET' },
    );
    return [randomBytes(32).toString('base64url')];
  }
  for (const s of secrets) {
    if (typeof s !== 'string' || s.length === 0) throw new ConfigError('every secret must be a non-empty string');
  }
  return secrets;
}

function resolveSweep(sweep: SweeperOptions | false | undefined): Required<SweeperOptions> {
  const given = sweep === false ? { background: false } : (sweep ?? {});
  const graceMs = given.graceMs ?? 60_000;
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new ConfigError('sweep.graceMs must be a number >= 0');
  return {
    background: given.background ?? true,
    intervalMs: positive('sweep.intervalMs', given.intervalMs, 300_000),
    graceMs,
    batchSize: positive('sweep.batchSize', given.batchSize, 500),
    budgetMs: positive('sweep.budgetMs', given.budgetMs, 10_000),
    maxBlockMs: positive('sweep.maxBlockMs', given.maxBlockMs, 1),
    leaseMs: positive('sweep.leaseMs', given.leaseMs, 60_000),
  };
}

function resolveTouchAfterMs(touchAfter: number | undefined, idleMs: number): number {
  // A session touched less often than it idles out would expire while in use.
  if (touchAfter === undefined) return Math.min(60_000, idleMs / 10);
  const touchAfterMs = positive('touchAfter', touchAfter, 60) * 1000;
  if (touchAfterMs >= idleMs) throw new ConfigError('touchAfter must be shorter than idleTimeout');
  return touchAfterMs;
}

/** Applies defaults and rejects bad options with `ConfigError`. */
export function resolveOptions(options: SessionManagerOptions): ResolvedOptions {
  const lock = options.lock ?? {};
  const mode = lock.mode ?? 'exclusive';
  assertLockMode(mode);
  const cookie = options.cookie ?? {};
  const name = cookie.name ?? 'sid';
  if (!COOKIE_NAME.test(name)) throw new ConfigError('cookie.name is not a valid cookie name');
  const sameSite = cookie.sameSite ?? 'lax';
  const secure = cookie.secure ?? 'auto';
  if (sameSite === 'none' && secure === false) {
    throw new ConfigError('cookie.sameSite "none" needs cookie.secure (browsers reject it otherwise)');
  }
  const idleMs = positive('idleTimeout', options.idleTimeout, 1800) * 1000;
  const absoluteMs = positive('absoluteTimeout', options.absoluteTimeout, 43200) * 1000;
  const leaseMs = positive('lock.leaseMs', lock.leaseMs, 30_000);
  return {
    secrets: resolveSecrets(options.secret),
    idleMs,
    absoluteMs,
    touchAfterMs: resolveTouchAfterMs(options.touchAfter, idleMs),
    lock: {
      mode,
      waitMs: positive('lock.waitMs', lock.waitMs, 10_000),
      leaseMs,
      maxHoldMs: positive('lock.maxHoldMs', lock.maxHoldMs, 300_000),
      maxWaiters: positive('lock.maxWaiters', lock.maxWaiters, 1000),
      handoffWindowMs: positive('lock.handoffWindowMs', lock.handoffWindowMs, 200),
    },
    cookie: {
      name,
      path: cookie.path ?? '/',
      domain: cookie.domain,
      secure,
      sameSite,
      httpOnly: cookie.httpOnly ?? true,
      partitioned: cookie.partitioned ?? false,
      persistent: cookie.persistent ?? false,
    },
    serializer: options.serializer ?? jsonSerializer,
    maxDataBytes: positive('maxDataBytes', options.maxDataBytes, 65_536),
    sweep: resolveSweep(options.sweep),
    ids: options.ids ?? defaultIdScheme,
  };
}
