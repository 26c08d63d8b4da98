// A private MariaDB server on a free loopback port, with real grant tables: a fresh
// data directory, a database `sessionlock` and a password user that may use only it.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  untilReady,
  ensureBinary,
  freePort,
  isRoot,
  runChecked,
  serviceDirs,
  startRestartable,
  type RestartableHandle,
} from './_process.js';

const PACKAGES = ['mariadb-server'];

/** A running private MariaDB server. */
export interface MariadbService extends RestartableHandle {
  /** `mysql://sessionlock:<password>@127.0.0.1:<port>/sessionlock` */
  readonly url: string;
  /** The unix socket, where `root` logs in without a password, for test set-up only. */
  readonly socketPath: string;
}

/** Start MariaDB: `mariadb-install-db` a fresh data directory, run `mariadbd`, create the test user. */
export async function startMariadb(options: { port?: number } = {}): Promise<MariadbService> {
  const mariadbd = await ensureBinary(['mariadbd', 'mysqld'], PACKAGES);
  const installDb = await ensureBinary(['mariadb-install-db', 'mysql_install_db'], PACKAGES);
  const client = await ensureBinary(['mariadb', 'mysql'], PACKAGES);
  const port = options.port ?? (await freePort());
  const { logDir, dataDir } = serviceDirs('mariadb');
  const datadir = join(dataDir, 'data');
  const socketPath = join(dataDir, 'mysqld.sock');
  // As root, mariadbd must be told to stay root (it otherwise refuses); the data
  // directory is ours, so no other user needs access to it.
  const userArgs = isRoot() ? ['--user=root'] : [];
  runChecked(installDb, [
    '--no-defaults',
    `--datadir=${datadir}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    ...userArgs,
  ]);
  const handle = await startRestartable(
    {
      name: 'mariadb',
      command: mariadbd,
      port,
      logPath: join(logDir, 'server.log'),
      args: [
        '--no-defaults',
        `--datadir=${datadir}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${socketPath}`,
        `--pid-file=${join(dataDir, 'mysqld.pid')}`,
        '--skip-name-resolve',
        '--max-connections=300',
        '--innodb-buffer-pool-size=64M',
        // Throw-away test data: do not wait for the disk on every commit.
        '--innodb-flush-log-at-trx-commit=2',
        '--skip-log-bin',
        ...userArgs,
      ],
    },
    dataDir,
  );
  const password = randomBytes(16).toString('hex');
  const admin = ['--no-defaults', `--socket=${socketPath}`, '-u', 'root'];
  try {
    await untilReady(() => runChecked(client, [...admin, '-e', 'SELECT 1']));
    runChecked(client, [...admin], {
      input: [
        'CREATE DATABASE sessionlock;',
        `CREATE USER 'sessionlock'@'127.0.0.1' IDENTIFIED BY '${password}';`,
        `CREATE USER 'sessionlock'@'localhost' IDENTIFIED BY '${password}';`,
        "GRANT ALL PRIVILEGES ON sessionlock.* TO 'sessionlock'@'127.0.0.1';",
        "GRANT ALL PRIVILEGES ON sessionlock.* TO 'sessionlock'@'localhost';",
      ].join('\n'),
    });
  } catch (error) {
    await handle.stop();
    throw error;
  }
  return Object.assign(handle, { url: `mysql://sessionlock:${password}@127.0.0.1:${port}/sessionlock`, socketPath });
}

