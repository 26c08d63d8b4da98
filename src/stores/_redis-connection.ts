/**
 * The Redis store's own connection, when it is made from a URL: parsing the URL (one
 * server, or a Cluster from several seeds) and failing fast while the server is down.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { ConfigError } from '../errors.js';

/**
 * Parse a store URL into ioredis connection settings. Several comma-separated seeds (or
 * `?cluster=true`) mean a Redis Cluster.
 */
export function parseRedisUrl(url: string): { cluster: false; url: string } | { cluster: true; nodes: { host: string; port: number }[]; options: RedisOptions } {
  const match = /^(rediss?):\/\/(?:([^@/]*)@)?([^/?#]+)(\/[^?#]*)?(\?[^#]*)?$/i.exec(url);
  if (match === null) throw new ConfigError('the redis store URL is not of the form redis://[user:password@]host:port[,host:port…][/db][?cluster=true]');
  const [, scheme = 'redis', auth, hosts = '', path = '', query = ''] = match;
  const seeds = hosts.split(',');
  const params = new URLSearchParams(query);
  if (seeds.length === 1 && params.get('cluster') !== 'true') return { cluster: false, url };
  const nodes = seeds.map((seed) => {
    const parsed = new URL(`redis://${seed}`);
    return { host: parsed.hostname, port: Number(parsed.port || 6379) };
  });
  if (path !== '' && path !== '/' && path !== '/0') throw new ConfigError('a Redis Cluster has only database 0');
  const options: RedisOptions = {};
  if (auth !== undefined) {
    const [user, password] = auth.split(':');
    if (password === undefined) options.password = decodeURIComponent(user ?? '');
    else {
      if (user !== undefined && user !== '') options.username = decodeURIComponent(user);
      options.password = decodeURIComponent(password);
    }
  }
  if (scheme.toLowerCase() === 'rediss') options.tls = {};
  return { cluster: true, nodes, options };
}

/** A connection the store owns. */
export interface OwnedConnection {
  readonly client: Redis | Cluster;
  /**
   * Undefined when commands may be sent now; otherwise a promise that resolves once the
   * first connection is up, or rejects (bounded) when it is not, or at once when an
   * established connection is down, so a request fails fast instead of queueing.
   */
  ready(): Promise<void> | undefined;
}

/**
 * Connect to `url`. Reconnecting goes on forever in the background, so the store works
 * again by itself once the server is back; meanwhile commands fail fast.
 */
export function connectRedis(url: string, commandTimeoutMs: number, onBackgroundError: (error: unknown) => void): OwnedConnection {
  const parsed = parseRedisUrl(url);
  // A command already sent times out; one queued while a connection drops fails after
  // one reconnection attempt. Commands of one tick go out in one write (auto-pipelining):
  // on this project's 2-core test machine a socket write costs 50-60 µs, and without it
  // each request paid two.
  const redisOptions: RedisOptions = { commandTimeout: commandTimeoutMs, maxRetriesPerRequest: 1, enableAutoPipelining: true };
  const client = parsed.cluster
    ? new Cluster(parsed.nodes, {
        redisOptions: { ...parsed.options, ...redisOptions },
        enableAutoPipelining: true,
        ...(parsed.options.tls === undefined ? {} : { dnsLookup: ((address, callback) => callback(null, address)) satisfies ClusterOptions['dnsLookup'] }),
      })
    : new Redis(parsed.url, redisOptions);

  let everReady = false;
  // Every failed command rejects its caller; the connection's own error events (one per
  // reconnection attempt) are reported once per outage, not once per attempt.
  let reported = false;
  client.on('error', (error: unknown) => {
    if (!reported) onBackgroundError(error);
    reported = true;
  });
  client.on('ready', () => {
    everReady = true;
    reported = false;
  });
  let firstConnection: Promise<void> | undefined;

  return {
    client,
    ready() {
      if (client.status === 'ready') return undefined;
      // While reconnecting, commands would queue until a timeout: with a session's
      // requests queued behind each other, that multiplies into waits far past
      // lock.waitMs. Fail now; the core answers the request with a store error.
      if (everReady) return Promise.reject(new Error(`the redis connection is down (${client.status}); reconnecting`));
      firstConnection ??= new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          client.off('ready', onReady);
          firstConnection = undefined;
          reject(new Error(`could not connect to redis within ${commandTimeoutMs} ms`));
        }, commandTimeoutMs);
        const onReady = (): void => {
          clearTimeout(timer);
          resolve();
        };
        client.once('ready', onReady);
      });
      return firstConnection;
    },
  };
}
