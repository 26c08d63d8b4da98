// express-session with connect-redis on a node-redis client, as connect-redis's README does.
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { startExpressSession } from './_express-session.js';
import { serviceUrl, type Contender } from './_serve.js';

/** Start this contender's server on a free loopback port. */
const start: Contender = async (context) => {
  const client = createClient({ url: serviceUrl(context, 'redis') });
  await client.connect();
  return startExpressSession(context.secret, new RedisStore({ client, prefix: 'peer:' }));
};
export default start;
