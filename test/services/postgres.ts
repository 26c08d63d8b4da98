// A private PostgreSQL server on a free loopback port, from the Debian binaries under
// /usr/lib/postgresql/<version>/bin. PostgreSQL refuses to run as root, so when we are
// root the cluster is created and run as `nobody`, with its data under /tmp.
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  untilReady,
  ensureBinary,
  freePort,
  postgresBinDirs,
  runChecked,
  serviceDirs,
  startRestartable,
  unprivilegedUser,
  type RestartableHandle,
} from './_process.js';

/** A running private PostgreSQL server. */
export interface PostgresService extends RestartableHandle {
  /** `postgres://sessionlock:<password>@127.0.0.1:<port>/sessionlock`, a non-superuser owning its database. */
  readonly url: string;
  /** The superuser `postgres` over the unix socket (no password), for test set-up only. */
  readonly adminUrl: string;
}

/**
 * Start PostgreSQL: `initdb` a fresh cluster (password auth on TCP, trust on the unix
 * socket), run it with durability off (this is throw-away test data), and create a
 * login role and database `sessionlock` for the tests.
 */
export async function startPostgres(options: { port?: number } = {}): Promise<PostgresService> {
  // Prefer the real Debian binaries: /usr/local/bin may hold wrappers or symlinks.
  const postgres = await ensureBinary(['postgres'], ['postgresql'], postgresBinDirs);
  const bin = dirname(postgres);
  const port = options.port ?? (await freePort());
  const { logDir, dataDir } = serviceDirs('postgres');
  const user = unprivilegedUser();
  const pgdata = join(dataDir, 'data');
  mkdirSync(pgdata, { mode: 0o700 });
  const superPassword = randomBytes(16).toString('hex');
  const pwfile = join(dataDir, 'pwfile');
  writeFileSync(pwfile, `${superPassword}\n`, { mode: 0o600 });
  if (user !== undefined) {
    for (const path of [dataDir, pgdata, pwfile]) chownSync(path, user.uid, user.gid);
  }
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C', HOME: dataDir };
  runChecked(
    join(bin, 'initdb'),
    ['-D', pgdata, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pwfile}`, '--no-sync', '-E', 'UTF8', '--locale=C'],
    { env, user, cwd: dataDir },
  );
  const handle = await startRestartable(
    {
      name: 'postgres',
      command: postgres,
      port,
      logPath: join(logDir, 'server.log'),
      env,
      user,
      cwd: dataDir,
      // SIGTERM is a "smart" shutdown that waits for every client to disconnect; SIGINT
      // is the fast one that ends sessions, which is what an outage test wants.
      stopSignal: 'SIGINT',
      args: [
        '-D', pgdata,
        '-p', String(port),
        '-k', dataDir,
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'fsync=off',
        '-c', 'synchronous_commit=off',
        '-c', 'full_page_writes=off',
        '-c', 'max_connections=300',
        '-c', 'shared_buffers=32MB',
        '-c', 'logging_collector=off',
      ],
    },
    dataDir,
  );
  const password = randomBytes(16).toString('hex');
  const psql = join(bin, 'psql');
  const admin = ['-h', dataDir, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q'];
  try {
    await untilReady(() => runChecked(psql, [...admin, '-c', 'SELECT 1'], { env }));
    runChecked(psql, [...admin, '-c', `CREATE ROLE sessionlock LOGIN PASSWORD '${password}'`], { env });
    runChecked(psql, [...admin, '-c', 'CREATE DATABASE sessionlock OWNER sessionlock'], { env });
  } catch (error) {
    await handle.stop();
    throw error;
  }
  return Object.assign(handle, {
    url: `postgres://sessionlock:${password}@127.0.0.1:${port}/sessionlock`,
    adminUrl: `postgres://postgres@/postgres?host=${encodeURIComponent(dataDir)}&port=${port}`,
  });
}

