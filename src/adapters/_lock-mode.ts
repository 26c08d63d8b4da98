import type { LockMode } from '../core/options.js';

/** A lock mode for every request, or one chosen per request (by path, by method…). */
export type LockModeChoice<R> = LockMode | ((request: R) => LockMode | undefined);

/** The mode a request asks for; undefined means the manager's default. */
export function chooseMode<R>(choice: LockModeChoice<R> | undefined, request: R): LockMode | undefined {
  return typeof choice === 'function' ? choice(request) : choice;
}
