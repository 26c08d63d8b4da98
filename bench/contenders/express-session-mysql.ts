// express-session with express-mysql-session on a mysql2 pool, as its README does for
// MariaDB (an existing pool passed in); the store's own defaults otherwise.
import session from 'express-session';
import createMySqlStore from 'express-mysql-session';
import mysql from 'mysql2/promise';
import { startExpressSession } from './_express-session.js';
import { serviceUrl, type Contender } from './_serve.js';

const MySqlStore = createMySqlStore(session);

/** Start this contender's server on a free loopback port. */
const start: Contender = async (context) => {
  const pool = mysql.createPool(serviceUrl(context, 'mysql'));
  const store = new MySqlStore({ schema: { tableName: 'peer_sessions' } }, pool);
  await store.onReady();
  return startExpressSession(context.secret, store);
};
export default start;
