// A private memcached on a free loopback port, TCP only.
import { join } from 'node:path';
import { ensureBinary, freePort, isRoot, serviceDirs, startRestartable, type RestartableHandle } from './_process.js';

/** A running private memcached. */
export interface MemcachedService extends RestartableHandle {
  /** `memcached://127.0.0.1:<port>` */
  readonly url: string;
}

/** Start memcached on 127.0.0.1 with UDP off (`-U 0`) and 64 MB of memory. */
export async function startMemcached(options: { port?: number } = {}): Promise<MemcachedService> {
  const command = await ensureBinary(['memcached'], ['memcached']);
  const port = options.port ?? (await freePort());
  const { logDir, dataDir } = serviceDirs('memcached');
  const handle = await startRestartable(
    {
      name: 'memcached',
      command,
      port,
      logPath: join(logDir, 'server.log'),
      // memcached refuses to run as root unless told which user to become.
      args: ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '64', ...(isRoot() ? ['-u', 'nobody'] : [])],
    },
    dataDir,
  );
  return Object.assign(handle, { url: `memcached://127.0.0.1:${port}` });
}
