import type { SessionIdScheme } from './id-scheme.js';

/** A cookie value that verified: the session id it names and that id's store key. */
export interface VerifiedCookie {
  readonly id: string;
  readonly key: string;
}

/** Most cookie values remembered; about 300 bytes each. */
const DEFAULT_CAPACITY = 4096;

/**
 * Remembers the cookie values that verified recently, so a returning visitor's request
 * costs a map lookup instead of an HMAC and a SHA-256 (together the largest share of a
 * memory-store request's CPU). Whether a value verifies is a pure function of the value
 * and the manager's fixed secrets, so a remembered answer never goes stale; a destroyed
 * session's cookie still verifies and is then simply not found in the store, as before.
 *
 * Only values that verified are kept: a forged or malformed cookie is checked in full,
 * in constant time, every time, and cannot fill the map. A hit needs the exact signed
 * value, which is already the credential; the lookup's time depends on the string's
 * seeded hash, not on how much of a guess is right. Oldest entries go first when full.
 *
 * @internal
 */
export class VerifiedCookies {
  readonly #known = new Map<string, VerifiedCookie>();
  readonly #ids: SessionIdScheme;
  readonly #secrets: readonly string[];
  readonly #capacity: number;

  constructor(ids: SessionIdScheme, secrets: readonly string[], capacity = DEFAULT_CAPACITY) {
    this.#ids = ids;
    this.#secrets = secrets;
    this.#capacity = capacity;
  }

  /** The id and store key of a cookie value, or undefined when it does not verify. */
  resolve(value: string): VerifiedCookie | undefined {
    const known = this.#known.get(value);
    if (known !== undefined) return known;
    const id = this.#ids.decode(value, this.#secrets);
    if (id === null) return undefined;
    const verified: VerifiedCookie = { id, key: this.#ids.storeKey(id) };
    if (this.#known.size >= this.#capacity) {
      // Map iterates in insertion order: the first key is the oldest.
      this.#known.delete(this.#known.keys().next().value as string);
    }
    this.#known.set(value, verified);
    return verified;
  }
}
