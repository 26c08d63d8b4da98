// Types of the CommonJS entry: the middleware factory itself, with every named export on it.
import type * as express from '../dist/adapters/express.cjs';

declare const session: typeof express.default & typeof express;
export = session;
