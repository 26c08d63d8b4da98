// The sessionlock contenders: one manager on the store named by the harness.
import { join } from 'node:path';
import { createSessionManager, createStore, type SessionManager, type SessionStore } from '../../src/index.js';
import { UnavailableError, serviceUrl, type ContenderContext } from './_serve.js';

/** The store URL for a store name, in the harness's private directory or on its servers. */
export function storeUrlOf(context: ContenderContext): string {
  switch (context.store) {
    case 'memory':
      return 'memory:';
    case 'sqlite':
      return `sqlite:${join(context.tmpDir, 'sessionlock.db')}`;
    case 'file':
      return `file:${join(context.tmpDir, 'sessionlock-files')}`;
    case 'redis':
    case 'postgres':
    case 'mysql':
    case 'memcached':
      return serviceUrl(context, context.store);
    default:
      throw new UnavailableError(`unknown sessionlock store ${String(context.store)}`);
  }
}

/**
 * Open the store before the server starts, so a store that cannot be opened here is
 * reported as unavailable instead of failing every request.
 */
export async function openBenchStore(context: ContenderContext): Promise<SessionStore> {
  try {
    return await createStore(storeUrlOf(context));
  } catch (error) {
    if (error instanceof UnavailableError) throw error;
    throw new UnavailableError(`createStore failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** A manager on the harness's store, with default options. */
export async function createBenchManager(context: ContenderContext): Promise<SessionManager> {
  return createSessionManager({ store: await openBenchStore(context), secret: context.secret });
}

/** The counter the route increments. */
export function nextHits(data: Record<string, unknown>): number {
  const hits = Number(data.hits ?? 0) + 1;
  data.hits = hits;
  return hits;
}
