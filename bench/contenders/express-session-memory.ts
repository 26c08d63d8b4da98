// express-session with its default MemoryStore.
import { startExpressSession } from './_express-session.js';
import type { Contender } from './_serve.js';

/** Start this contender's server on a free loopback port. */
const start: Contender = ({ secret }) => startExpressSession(secret, undefined);
export default start;
