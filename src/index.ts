/**
 * sessionlock: server-side sessions for Node.js that never lose a visitor's update when
 * their requests overlap.
 *
 * @example
 * ```ts
 * import { createSessionManager } from 'sessionlock';
 *
 * const sessions = createSessionManager({ store: 'sqlite:./data/sessions.db', secret: process.env.SESSION_SECRET });
 * ```
 *
 * @module
 */
export { createSessionManager, SessionManager, type OpenOptions, type SessionManagerEvents } from './core/manager.js';
export { Session, type SessionData } from './core/session.js';
export type { CookieOptions, LockMode, LockOptions, SessionManagerOptions, SweeperOptions } from './core/options.js';
export { jsonSerializer, type Serializer } from './core/serializer.js';
export { defaultIdScheme, type SessionIdScheme } from './core/id-scheme.js';
export type { SweepOptions, SweepProgress, SweepResult } from './core/sweep.js';
export { SWEEPER_KEY } from './core/sweeper.js';
export { createStore } from './stores/create-store.js';
export type * from './stores/types.js';
export * from './errors.js';
