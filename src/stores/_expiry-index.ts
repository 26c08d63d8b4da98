/**
 * A min-heap of (expiresAt, key) so a sweep visits expired records only: its cost grows
 * with what it removes, not with how many sessions exist. Entries are never updated in
 * place; a changed expiry pushes a new entry and the old one is recognized as stale
 * when it surfaces, because it no longer matches the record.
 */
export class ExpiryIndex {
  readonly #at: number[] = [];
  readonly #keys: string[] = [];

  /** Entries held, stale ones included. */
  get size(): number {
    return this.#at.length;
  }

  /** Remember that `key` expires at `expiresAt`. */
  push(expiresAt: number, key: string): void {
    this.#at.push(expiresAt);
    this.#keys.push(key);
    this.#up(this.#at.length - 1);
  }

  /** The earliest expiry held, or undefined when empty. */
  peek(): number | undefined {
    return this.#at[0];
  }

  /** Remove and answer the earliest entry. */
  pop(): [expiresAt: number, key: string] | undefined {
    const top = this.#at[0];
    const key = this.#keys[0];
    if (top === undefined || key === undefined) return undefined;
    const lastAt = this.#at.pop() as number;
    const lastKey = this.#keys.pop() as string;
    if (this.#at.length > 0) {
      this.#at[0] = lastAt;
      this.#keys[0] = lastKey;
      this.#down(0);
    }
    return [top, key];
  }

  /** Drop every entry, to rebuild from the live records when stale ones pile up. */
  clear(): void {
    this.#at.length = 0;
    this.#keys.length = 0;
  }

  #swap(i: number, j: number): void {
    const at = this.#at[i] as number;
    this.#at[i] = this.#at[j] as number;
    this.#at[j] = at;
    const key = this.#keys[i] as string;
    this.#keys[i] = this.#keys[j] as string;
    this.#keys[j] = key;
  }

  #up(index: number): void {
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((this.#at[parent] as number) <= (this.#at[i] as number)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(index: number): void {
    const n = this.#at.length;
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < n && (this.#at[left] as number) < (this.#at[least] as number)) least = left;
      if (right < n && (this.#at[right] as number) < (this.#at[least] as number)) least = right;
      if (least === i) return;
      this.#swap(i, least);
      i = least;
    }
  }
}
