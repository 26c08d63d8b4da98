// A private redis-server on a free loopback port: no persistence, data in memory only.
import { join } from 'node:path';
import { ensureBinary, freePort, serviceDirs, startRestartable, type RestartableHandle } from './_process.js';

/** Debian packages that provide redis-server and redis-cli. */
export const REDIS_PACKAGES = ['redis-server'];

/** A running private Redis server. */
export interface RedisService extends RestartableHandle {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
}

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** Listen on this port. @default a free one */
  port?: number;
  /** Name of the log directory. @default 'redis' */
  name?: string;
  /** Extra redis-server arguments. */
  args?: readonly string[];
}

/**
 * Start a private redis-server with persistence off (`--save '' --appendonly no`), so
 * stopping it throws its data away and nothing touches the disk on the request path.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisService> {
  const command = await ensureBinary(['redis-server'], REDIS_PACKAGES);
  const port = options.port ?? (await freePort());
  const name = options.name ?? 'redis';
  const { logDir, dataDir } = serviceDirs(name);
  const handle = await startRestartable(
    {
      name,
      command,
      port,
      logPath: join(logDir, 'server.log'),
      args: [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--save', '',
        '--appendonly', 'no',
        '--dir', dataDir,
        '--daemonize', 'no',
        '--protected-mode', 'yes',
        ...(options.args ?? []),
      ],
    },
    dataDir,
  );
  return Object.assign(handle, { url: `redis://127.0.0.1:${port}` });
}
