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

/**
 * The default serializer: JSON, never eval. A BigInt, a function, a symbol or a cycle
 * throws `SerializationError`.
 */
export const jsonSerializer: Serializer = {
  stringify(data) {
    try {
      return JSON.stringify(data, refuseLossyValues);
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
