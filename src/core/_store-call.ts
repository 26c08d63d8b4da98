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
    throw error instanceof SessionError ? error : new StoreError(store.name, operation, { cause: error });
  }
}
