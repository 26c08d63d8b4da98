// A private nginx on a free loopback port that round-robins HTTP over given upstream
// ports on 127.0.0.1, the way a load balancer spreads one visitor's requests over
// several app servers.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBinary, freePort, isRoot, serviceDirs, startRestartable, type RestartableHandle } from './_process.js';

/** A running private nginx. */
export interface NginxService extends RestartableHandle {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
}

/** Options of {@link startNginx}. */
export interface StartNginxOptions {
  /** Ports on 127.0.0.1 to spread requests over, in round-robin order. */
  upstreamPorts: readonly number[];
  /** Listen on this port. @default a free one */
  port?: number;
}

/** Start nginx in the foreground with a generated config that load-balances over `upstreamPorts`. */
export async function startNginx(options: StartNginxOptions): Promise<NginxService> {
  if (options.upstreamPorts.length === 0) throw new Error('startNginx needs at least one upstream port');
  const command = await ensureBinary(['nginx'], ['nginx']);
  const port = options.port ?? (await freePort());
  const { logDir, dataDir } = serviceDirs('nginx');
  const temp = join(dataDir, 'temp');
  mkdirSync(temp);
  const config = join(dataDir, 'nginx.conf');
  writeFileSync(
    config,
    [
      'daemon off;',
      // As root, nginx would switch its workers to `nobody`, who cannot write our temp dirs.
      ...(isRoot() ? ['user root;'] : []),
      'worker_processes 1;',
      `pid ${join(dataDir, 'nginx.pid')};`,
      `error_log ${join(logDir, 'error.log')} warn;`,
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${join(temp, 'body')};`,
      `  proxy_temp_path ${join(temp, 'proxy')};`,
      `  fastcgi_temp_path ${join(temp, 'fastcgi')};`,
      `  uwsgi_temp_path ${join(temp, 'uwsgi')};`,
      `  scgi_temp_path ${join(temp, 'scgi')};`,
      '  upstream nodes {',
      // max_fails=0: a node answering errors (an outage test) is never taken out of rotation.
      ...options.upstreamPorts.map((upstream) => `    server 127.0.0.1:${upstream} max_fails=0;`),
      '    keepalive 32;',
      '  }',
      '  server {',
      `    listen 127.0.0.1:${port};`,
      '    location / {',
      '      proxy_pass http://nodes;',
      '      proxy_http_version 1.1;',
      '      proxy_set_header Connection "";',
      '      proxy_set_header Host $host;',
      '    }',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const handle = await startRestartable(
    {
      name: 'nginx',
      command,
      port,
      logPath: join(logDir, 'server.log'),
      // SIGQUIT would wait for open keep-alive connections; SIGTERM stops at once.
      args: ['-p', dataDir, '-c', config, '-e', join(logDir, 'error.log')],
    },
    dataDir,
  );
  return Object.assign(handle, { url: `http://127.0.0.1:${port}` });
}
