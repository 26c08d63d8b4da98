/**
 * Folder flushes through descriptors kept open. A save flushes its record's folder so
 * that its rename survives a power cut; opening and closing the folder around each
 * `fsync` made three thread-pool calls of one, and every call is a hand-off to a pool
 * thread and back. The most recently flushed folders stay open, up to a bound.
 */
import { closeFd, fsyncFd, openFd } from './_file-io.js';

/** An open folder, with the flushes in progress on it. */
interface Folder {
  readonly fd: number;
  users: number;
  /** Dropped from the cache: the last user closes it. */
  dropped: boolean;
}

/** Folders kept open at most. */
const LIMIT = 64;

/** See the module comment. One instance per store. */
export class FolderSyncs {
  /** In least-recently-used order, oldest first (a Map keeps insertion order). */
  readonly #open = new Map<string, Folder>();

  /** Make `dir`'s entries (a rename, a new or removed file) durable. */
  async sync(dir: string): Promise<void> {
    // Windows cannot open a folder for fsync; its renames are journaled by NTFS.
    if (process.platform === 'win32') return;
    const folder = await this.#use(dir);
    try {
      await fsyncFd(folder.fd);
    } finally {
      folder.users -= 1;
      if (folder.dropped && folder.users === 0) await closeFd(folder.fd);
    }
  }

  /** Close every folder, once the flushes in progress on it are done. */
  async close(): Promise<void> {
    const folders = [...this.#open.values()];
    this.#open.clear();
    await Promise.all(folders.map((folder) => this.#drop(folder)));
  }

  /** The open folder `dir`, counted as used (no await between the lookup and the count). */
  async #use(dir: string): Promise<Folder> {
    const cached = this.#open.get(dir);
    if (cached !== undefined) {
      this.#open.delete(dir);
      this.#open.set(dir, cached);
      cached.users += 1;
      return cached;
    }
    const fd = await openFd(dir, 'r');
    const opened = this.#open.get(dir);
    if (opened !== undefined) {
      // Another flush of the same folder opened it meanwhile.
      opened.users += 1;
      await closeFd(fd);
      return opened;
    }
    const folder: Folder = { fd, users: 1, dropped: false };
    this.#open.set(dir, folder);
    if (this.#open.size > LIMIT) {
      const [oldestDir, oldest] = this.#open.entries().next().value as [string, Folder];
      this.#open.delete(oldestDir);
      await this.#drop(oldest);
    }
    return folder;
  }

  async #drop(folder: Folder): Promise<void> {
    folder.dropped = true;
    if (folder.users === 0) await closeFd(folder.fd);
  }
}
