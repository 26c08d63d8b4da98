// The machine and the versions a run measured, for the report.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR } from './_processes.js';

/** Where and with what a run happened. */
export interface Environment {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  /** Package name → installed version. */
  readonly packages: Record<string, string>;
  /** Server name → its version line, or why it is unknown. */
  readonly servers: Record<string, string>;
  /** The filesystem under bench/ (its work folder holds the file and SQLite stores' data). */
  readonly workFilesystem: string;
}

const PACKAGES = [
  'express', 'express4', 'express-session', 'memorystore', 'better-sqlite3-session-store', 'better-sqlite3',
  'session-file-store', 'connect-redis', 'redis', 'connect-pg-simple', 'pg', 'express-mysql-session',
  'connect-memcached', 'fastify', '@fastify/session', '@fastify/cookie', 'ioredis', 'mysql2', 'memcached',
  'autocannon', 'tsx',
];

function installedVersion(name: string): string {
  try {
    const manifest = JSON.parse(readFileSync(join(BENCH_DIR, '..', 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
    return manifest.version;
  } catch (error) {
    return `not installed (${error instanceof Error ? error.message.split(':')[0] : String(error)})`;
  }
}

function commandVersion(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n')[0] ?? '';
  } catch (error) {
    return `unknown (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
}

/**
 * Device and type of the filesystem under `dir`, and for ext4 whether it has a journal:
 * without one, ext4's inode allocator skips recently freed inodes one by one, which made
 * file creation most of the file stores' CPU on the machine these benchmarks began on.
 */
function filesystemOf(dir: string): string {
  let fields: string[];
  try {
    const lines = execFileSync('df', ['--output=source,fstype', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n');
    fields = (lines[1] ?? '').trim().split(/\s+/);
  } catch (error) {
    return `unknown (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
  const [source = 'unknown', type = 'unknown'] = fields;
  if (type !== 'ext4') return `${source} (${type})`;
  try {
    const journal = readFileSync(`/sys/fs/ext4/${source.split('/').pop() ?? ''}/journal_task`, 'utf8').trim();
    return `${source} (ext4, ${journal === '<none>' ? 'without a journal' : 'journaled'})`;
  } catch (error) {
    return `${source} (ext4; journal unknown: ${error instanceof Error ? error.message.split(':')[0] : String(error)})`;
  }
}

/** Describe this machine and the versions installed. */
export function describeEnvironment(): Environment {
  const own = JSON.parse(readFileSync(join(BENCH_DIR, '..', 'package.json'), 'utf8')) as { name: string; version: string };
  const packages: Record<string, string> = { [own.name]: `${own.version} (this checkout)` };
  for (const name of PACKAGES) packages[name] = installedVersion(name);
  let os = process.platform as string;
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch (error) {
    os = `${os} (${error instanceof Error ? error.message : String(error)})`;
  }
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: totalmem() / 2 ** 30,
    os,
    node: process.version,
    packages,
    servers: {
      'redis-server': commandVersion('redis-server', ['--version']),
      postgres: commandVersion('postgres', ['--version']),
      mariadbd: commandVersion('mariadbd', ['--version']),
      memcached: commandVersion('memcached', ['-V']),
    },
    workFilesystem: filesystemOf(BENCH_DIR),
  };
}
