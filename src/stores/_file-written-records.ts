/**
 * The records this process wrote last, with the file each was written to kept open. While
 * a descriptor is open its inode cannot be reused, so when the record's path still names
 * that device and inode, the file holds exactly what this process wrote: one `stat` then
 * stands for the open, read and close of a read. A request's acquire and commit are read
 * back so, and so is the next request of a session this process served last.
 */
import { closeFd, pathIdentity } from './_file-io.js';
import { codeOf, readRecord } from './_file-layout.js';
import type { LeasedRecord } from './_lease-record.js';

/** A record as this process wrote it. */
interface Written {
  readonly fd: number;
  readonly identity: string;
  readonly entry: LeasedRecord;
}

/** Records remembered at most, so at most this many descriptors stay open. */
const LIMIT = 128;

/** See the module comment. One instance per store. */
export class WrittenRecords {
  /** In least-recently-used order, oldest first (a Map keeps insertion order). */
  readonly #written = new Map<string, Written>();

  /** The record of `key`, which lives at `path`: from memory when the file is the one this process wrote. */
  async read(key: string, path: string): Promise<LeasedRecord | undefined> {
    const written = this.#written.get(key);
    if (written === undefined) return readRecord(path);
    let identity: string | undefined;
    try {
      identity = await pathIdentity(path);
    } catch (error) {
      if (codeOf(error) !== 'ENOENT') throw error;
    }
    if (identity === written.identity) {
      this.#written.delete(key);
      this.#written.set(key, written);
      return written.entry;
    }
    await this.#drop(key, written);
    return identity === undefined ? undefined : readRecord(path);
  }

  /** The record of `key` as this process wrote it last, unchecked: it may have changed since. */
  peek(key: string): LeasedRecord | undefined {
    return this.#written.get(key)?.entry;
  }

  /**
   * Remember that `key`'s record is now `entry`, in the file open at `fd` (`identity` as
   * `fdIdentity` gave it). Takes over the descriptor.
   */
  async remember(key: string, fd: number, identity: string, entry: LeasedRecord): Promise<void> {
    const previous = this.#written.get(key);
    this.#written.delete(key);
    this.#written.set(key, { fd, identity, entry });
    const oldest = this.#written.size > LIMIT ? this.#written.entries().next().value : undefined;
    await Promise.all([
      previous === undefined ? undefined : closeFd(previous.fd),
      oldest === undefined ? undefined : this.#drop(oldest[0], oldest[1]),
    ]);
  }

  /** Forget `key`'s record (it was removed). */
  async forget(key: string): Promise<void> {
    const written = this.#written.get(key);
    if (written !== undefined) await this.#drop(key, written);
  }

  /** Close every descriptor. */
  async close(): Promise<void> {
    const all = [...this.#written.values()];
    this.#written.clear();
    await Promise.all(all.map((written) => closeFd(written.fd)));
  }

  /** Drop `written` if it is still what `key` holds (a newer one may have replaced it meanwhile). */
  async #drop(key: string, written: Written): Promise<void> {
    if (this.#written.get(key) !== written) return;
    this.#written.delete(key);
    await closeFd(written.fd);
  }
}
