// Shared helpers of the test-service starters: free loopback ports, spawning a server
// binary with its output in a log file, waiting for its port, stopping it by PID, and
// installing a missing binary from its Debian package when we run as root.
//
// Every server is private and throw-away: it listens on 127.0.0.1 only, on a port the
// kernel just handed us, with its data under /tmp and its log under .test-services/.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The repository root. */
export const repoRoot = new URL('../..', import.meta.url).pathname;

/** How long a server may take to accept connections after it was spawned, in ms. */
export const START_TIMEOUT_MS = 30_000;
/** How long a server may take to exit after SIGTERM before it gets SIGKILL, in ms. */
export const STOP_TIMEOUT_MS = 5_000;

let counter = 0;

/**
 * A fresh directory for one server's log (`.test-services/<name>-<pid>-<n>/`, kept
 * after the run for post-mortems; git-ignored) and one for its data (under /tmp,
 * removed on stop).
 */
export function serviceDirs(name: string): { logDir: string; dataDir: string } {
  counter += 1;
  const id = `${name}-${process.pid}-${counter}`;
  const logDir = join(repoRoot, '.test-services', id);
  const dataDir = join(tmpdir(), 'sessionlock-test-services', id);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  return { logDir, dataDir };
}

/** A TCP port on 127.0.0.1 that nobody listened on a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** A free port `p` whose companion `p + offset` is free too (Redis Cluster's bus port). */
export async function freePortPair(offset: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = await freePort();
    if (port + offset > 65_535) continue;
    if (!(await portAccepts(port + offset)) && (await canListen(port + offset))) return port;
  }
  throw new Error(`no free port pair at distance ${offset}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** What to spawn. */
export interface SpawnSpec {
  /** Short name for messages. */
  readonly name: string;
  /** Absolute path of the binary. */
  readonly command: string;
  readonly args: readonly string[];
  /** The port the server will listen on; the spawn resolves once it accepts. */
  readonly port: number;
  /** Where stdout and stderr go (appended, so a restart keeps the earlier output). */
  readonly logPath: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Run as this user (needs root), e.g. for PostgreSQL, which refuses to run as root. */
  readonly user?: { readonly uid: number; readonly gid: number };
  /** Signal that makes the server shut down quickly. @default 'SIGTERM' */
  readonly stopSignal?: NodeJS.Signals;
}

/** A running server process. */
export interface RunningProcess {
  readonly pid: number;
  /** Stop it: `stopSignal`, then SIGKILL after {@link STOP_TIMEOUT_MS}. Idempotent. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

// Last line of defence: if the test runner exits without stopping its servers (an
// uncaught error), do not leave daemons behind. Only synchronous work is possible here.
process.once('exit', () => {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch (error) {
        // ESRCH: it died between the check and the kill, which is what we wanted.
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
  }
});

/** The last `lines` lines of a log file, for error messages. */
export function logTail(path: string, lines = 20): string {
  if (!existsSync(path)) return '(no log)';
  return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
}

/**
 * Spawn a server and resolve once its port accepts connections. Rejects (and kills it)
 * if it exits first or does not accept within {@link START_TIMEOUT_MS}, quoting its log.
 */
export async function spawnServer(spec: SpawnSpec): Promise<RunningProcess> {
  const log = openSync(spec.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['ignore', log, log],
      ...(spec.user === undefined ? {} : { uid: spec.user.uid, gid: spec.user.gid }),
    });
  } finally {
    closeSync(log);
  }
  running.add(child);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  void exited.then(() => running.delete(child));
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    child.kill(spec.stopSignal ?? 'SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (spawnError !== undefined) throw new Error(`${spec.name}: could not spawn ${spec.command}`, { cause: spawnError });
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${spec.name} exited (${child.exitCode ?? child.signalCode}) before accepting connections; log ${spec.logPath}:\n${logTail(spec.logPath)}`,
      );
    }
    if (await portAccepts(spec.port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${spec.name} did not accept connections on port ${spec.port} within ${START_TIMEOUT_MS} ms; log ${spec.logPath}:\n${logTail(spec.logPath)}`);
    }
    await sleep(25);
  }
  return { pid: child.pid as number, stop };
}

/** Run a command to completion; throws with its output when it fails. */
export function runChecked(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; user?: { uid: number; gid: number }; input?: string; cwd?: string } = {},
): string {
  const result = spawnSync(command, [...args], {
    encoding: 'utf8',
    env: options.env ?? process.env,
    input: options.input,
    cwd: options.cwd,
    timeout: START_TIMEOUT_MS * 2,
    ...(options.user === undefined ? {} : { uid: options.user.uid, gid: options.user.gid }),
  });
  if (result.error !== undefined) throw new Error(`${command} could not run`, { cause: result.error });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** True when this process runs as root, so it may install packages and switch users. */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

const SEARCH_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/** The first of `names` found as an executable in `dirs` (then in PATH), or undefined. */
export function findBinary(names: readonly string[], dirs: readonly string[] = []): string | undefined {
  const pathDirs = (process.env.PATH ?? '').split(':').filter((dir) => dir !== '');
  for (const name of names) {
    for (const dir of [...dirs, ...SEARCH_DIRS, ...pathDirs]) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch (error) {
        // ENOENT/EACCES: not here, try the next directory.
        if (!['ENOENT', 'EACCES', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
      }
    }
  }
  return undefined;
}

/** The bin directories of the installed PostgreSQL versions, newest first. */
export function postgresBinDirs(): string[] {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((version) => /^\d+$/.test(version))
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(base, version, 'bin'));
}

let aptUpdated = false;
// Starters run in parallel; apt must not.
let aptQueue: Promise<unknown> = Promise.resolve();

/** The command a user must run to install `packages`. */
export function installCommand(packages: readonly string[]): string {
  return `sudo apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

/**
 * The path of the first of `names` that exists. When none does and we run as root,
 * install `debPackages` with apt-get (once per run for the index update); otherwise
 * throw an error naming the command to run. Never a silent skip.
 */
export async function ensureBinary(names: readonly string[], debPackages: readonly string[], dirs: () => readonly string[] = () => []): Promise<string> {
  const found = findBinary(names, dirs());
  if (found !== undefined) return found;
  if (!isRoot()) {
    throw new Error(`${names[0]} is not installed; install it with: ${installCommand(debPackages)} (or set the service's SESSIONLOCK_TEST_*_URL to a server of your own)`);
  }
  const install = aptQueue.then(() => {
    // Another starter may have installed it while this one queued.
    if (findBinary(names, dirs()) !== undefined) return;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // Wait for another apt run (a parallel test setup) instead of failing on its lock.
    const lock = ['-o', 'DPkg::Lock::Timeout=300'];
    if (!aptUpdated) {
      runChecked('apt-get', ['update', '-q', ...lock], { env });
      aptUpdated = true;
    }
    runChecked('apt-get', ['install', '-y', '-q', ...lock, '--no-install-recommends', ...debPackages], { env });
  });
  aptQueue = install.catch(() => undefined);
  await install;
  const installed = findBinary(names, dirs());
  if (installed === undefined) throw new Error(`${names[0]} is still missing after installing ${debPackages.join(' ')}`);
  return installed;
}

/** A running server as the starters return it. */
export interface ServiceHandle {
  /** Stop the server for good and remove its data. Idempotent. */
  stop(): Promise<void>;
}

/**
 * A server that can be stopped and started again on the same port with the same data,
 * for outage tests.
 */
export interface RestartableHandle extends ServiceHandle {
  readonly port: number;
  /** Stop the process but keep its data, as an outage would. */
  halt(): Promise<void>;
  /** Start it again after {@link halt}, on the same port. */
  resume(): Promise<void>;
}

/**
 * Wrap one spawn spec into a restartable handle: `stop()` halts and removes `dataDir`.
 */
export async function startRestartable(spec: SpawnSpec, dataDir: string, cleanup?: () => void): Promise<RestartableHandle> {
  let current: RunningProcess | undefined = await spawnServer(spec);
  let stopped = false;
  return {
    port: spec.port,
    async halt() {
      const process = current;
      current = undefined;
      await process?.stop();
    },
    async resume() {
      if (stopped) throw new Error(`${spec.name} was stopped for good`);
      if (current === undefined) current = await spawnServer(spec);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const process = current;
      current = undefined;
      await process?.stop();
      cleanup?.();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The uid/gid to run a server as when it refuses root; undefined when we are not root. */
export function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  // `nobody` exists on every Debian system; the data directory is chowned to it.
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').find((line) => line.startsWith('nobody:'));
  const fields = passwd?.split(':');
  if (fields === undefined || fields[2] === undefined || fields[3] === undefined) throw new Error('user nobody not found in /etc/passwd');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/**
 * Retry a synchronous readiness probe every 50 ms until it stops throwing, for at most
 * {@link START_TIMEOUT_MS}: database servers accept TCP before they accept queries.
 */
export async function untilReady(probe: () => unknown): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      probe();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await sleep(50);
  }
}
