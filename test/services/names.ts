// The services tests can ask for, and the environment variables that carry their URLs.

/** Every service the test infrastructure can start. `mysql` is MariaDB. */
export const SERVICE_NAMES = ['redis', 'redis-cluster', 'postgres', 'mysql', 'memcached'] as const;

/** A service the test infrastructure can start. */
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The variable holding each service's URL (a comma list of node URLs for the cluster). */
export const SERVICE_ENV: Record<ServiceName, string> = {
  redis: 'SESSIONLOCK_TEST_REDIS_URL',
  'redis-cluster': 'SESSIONLOCK_TEST_REDIS_CLUSTER_URLS',
  postgres: 'SESSIONLOCK_TEST_POSTGRES_URL',
  mysql: 'SESSIONLOCK_TEST_MYSQL_URL',
  memcached: 'SESSIONLOCK_TEST_MEMCACHED_URL',
};

/** The variable holding why a service could not be started, for the tests' error message. */
export const SERVICE_ERROR_ENV: Record<ServiceName, string> = {
  redis: 'SESSIONLOCK_TEST_REDIS_ERROR',
  'redis-cluster': 'SESSIONLOCK_TEST_REDIS_CLUSTER_ERROR',
  postgres: 'SESSIONLOCK_TEST_POSTGRES_ERROR',
  mysql: 'SESSIONLOCK_TEST_MYSQL_ERROR',
  memcached: 'SESSIONLOCK_TEST_MEMCACHED_ERROR',
};
