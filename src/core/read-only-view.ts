import { SessionStateError } from '../errors.js';

const views = new WeakMap<object, Map<string, object>>();

/**
 * A view of `target` that reads through and throws `SessionStateError` on any write,
 * at any depth, so a write in a read-only or destroyed session fails where it is made
 * instead of being lost silently at commit.
 */
export function readOnlyView<T extends object>(target: T, reason: string): T {
  let byReason = views.get(target);
  const cached = byReason?.get(reason);
  if (cached !== undefined) return cached as T;
  const refuse = (): never => {
    throw new SessionStateError(reason);
  };
  const view = new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      return typeof value === 'object' && value !== null ? readOnlyView(value, reason) : value;
    },
    set: refuse,
    defineProperty: refuse,
    deleteProperty: refuse,
    setPrototypeOf: refuse,
  });
  if (byReason === undefined) {
    byReason = new Map();
    views.set(target, byReason);
  }
  byReason.set(reason, view);
  return view;
}
