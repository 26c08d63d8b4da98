// express-session with connect-pg-simple on a pg Pool (its README: createTableIfMissing).
import session from 'express-session';
import createPgStore from 'connect-pg-simple';
import pg from 'pg';
import { startExpressSession } from './_express-session.js';
import { serviceUrl, type Contender } from './_serve.js';

const PgStore = createPgStore(session);

/** Start this contender's server on a free loopback port. */
const start: Contender = async (context) => {
  const pool = new pg.Pool({ connectionString: serviceUrl(context, 'postgres') });
  return startExpressSession(context.secret, new PgStore({ pool, createTableIfMissing: true, tableName: 'peer_session' }));
};
export default start;
