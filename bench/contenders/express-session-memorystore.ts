// express-session with memorystore, set up as its README does (checkPeriod one day).
import session from 'express-session';
import createMemoryStore from 'memorystore';
import { startExpressSession } from './_express-session.js';
import type { Contender } from './_serve.js';

const MemoryStore = createMemoryStore(session);

/** Start this contender's server on a free loopback port. */
const start: Contender = ({ secret }) => startExpressSession(secret, new MemoryStore({ checkPeriod: 86_400_000 }));
export default start;
