// express-session with better-sqlite3-session-store, exactly as its README sets it up
// (minus `verbose: console.log`): resave false, saveUninitialized left at its default.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import session from 'express-session';
import createSqliteStore from 'better-sqlite3-session-store';
import { startExpressSession } from './_express-session.js';
import type { Contender } from './_serve.js';

const SqliteStore = createSqliteStore(session);

/** Start this contender's server on a free loopback port. */
const start: Contender = ({ secret, tmpDir }) => {
  const db = new Database(join(tmpDir, 'peer-sessions.db'));
  const store = new SqliteStore({ client: db, expired: { clear: true, intervalMs: 900_000 } });
  return startExpressSession(secret, store, { resave: false });
};
export default start;
