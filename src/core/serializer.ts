import { SerializationError } from '../errors.js';

/** Turns session data into the string a store keeps, and back. */
export interface Serializer {
  /** Must throw for a value it cannot round-trip; the stored session is then left as it was. */
  stringify(data: Record<string, unknown>): string;
  /** Must throw for bytes it cannot read; the session then counts as missing. */
  parse(text: string): Record<string, unknown>;
}

function refuseLossyValues(this: unknown, key: string, value: unknown): unknown {
  // JSON.stringify drops functions and symbols silently; a session that loses a value
  // without a word is worse than an error at save time.
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new SerializationError(`the value at "${key}" is a ${typeof value}, which JSON cannot hold`);
  }
  return value;
}

/** Deepest nesting the fast path looks into; deeper data, or a cycle, takes the checked path. */
const MAX_PLAIN_DEPTH = 32;

/**
 * True when `value` is made only of what JSON keeps as it is: strings, numbers, booleans,
 * null, undefined, arrays and plain objects without `toJSON`. Such data needs no replacer,
 * and a replacer call per value is most of the cost of writing a small session; anything
 * else (a Date, a class instance, a function, a BigInt) takes the checked path.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  if (typeof value !== 'object') {
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === undefined;
  }
  if (value === null) return true;
  if (depth >= MAX_PLAIN_DEPTH || typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  if (Array.isArray(value)) return value.every((item) => isPlainJson(item, depth + 1));
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  for (const key in value) {
    if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/**
 * The default serializer: JSON, never eval. A BigInt, a function, a symbol or a cycle
 * throws `SerializationError`.
 */
export const jsonSerializer: Serializer = {
  stringify(data) {
    try {
      return isPlainJson(data, 0) ? JSON.stringify(data) : JSON.stringify(data, refuseLossyValues);
    } catch (error) {
      if (error instanceof SerializationError) throw error;
      throw new SerializationError('the session data cannot be written as JSON', { cause: error });
    }
  },
  parse(text) {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new SerializationError('stored session data is not a JSON object');
    }
    return value as Record<string, unknown>;
  },
};
