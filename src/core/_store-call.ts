import { SessionError, StoreError } from '../errors.js';
import type { SessionStore } from '../stores/types.js';

/**
 * Run one store operation; a driver failure becomes `StoreError` naming the store and the
 * operation, with the driver's error as `cause` (never its message, which may hold data).
 */
export async function callStore<T>(store: SessionStore, operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw storeFailure(store, operation, error);
  }
}

/**
 * What a store operation's failure becomes: a `SessionError` as it is, anything else a
 * `StoreError` with it as `cause`. For the hot paths that await the store themselves,
 * saving `callStore`'s turn of the microtask queue.
 */
export function storeFailure(store: SessionStore, operation: string, error: unknown): SessionError {
  return error instanceof SessionError ? error : new StoreError(store.name, operation, { cause: error });
}
