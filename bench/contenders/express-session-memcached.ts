// express-session with connect-memcached, as its README sets it up, without the optional
// encryption (sessionlock's stores hold the data as it is, too).
import session from 'express-session';
import createMemcachedStore from 'connect-memcached';
import { startExpressSession } from './_express-session.js';
import { serviceUrl, type Contender } from './_serve.js';

const MemcachedStore = createMemcachedStore(session);

/** Start this contender's server on a free loopback port. */
const start: Contender = async (context) => {
  const hosts = serviceUrl(context, 'memcached').replace(/^memcached:\/\//, '').split(',');
  return startExpressSession(context.secret, new MemcachedStore({ hosts, prefix: 'peer:' }));
};
export default start;
