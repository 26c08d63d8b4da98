// Child processes of the harness: contender servers, load generators, helper scripts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContenderMessage, ContenderRequest } from './_contender-child.js';
import type { ContenderContext } from './contenders/_serve.js';
import type { CpuMark, LoadJob, LoadOutcome } from './_load-child.js';

/** The bench/ directory. */
export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
/** Scratch space of a run (databases, session files, logs); ignored by git. */
export const WORK_DIR = join(BENCH_DIR, '.work');
/** Where each child's stderr goes, so a failure can be read after the run. */
export const LOG_DIR = join(WORK_DIR, 'logs');

const START_TIMEOUT_MS = 60_000;

/** A running contender server. */
export interface RunningContender {
  readonly url: string;
  /** The server process's CPU time so far (user + system), in µs. */
  cpuUs(): Promise<number>;
  stop(): Promise<void>;
}

function askCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ContenderMessage): void => {
      if (message.type !== 'cpu') return;
      child.off('message', onMessage);
      resolve(message.us);
    };
    child.on('message', onMessage);
    child.send({ type: 'cpu' } satisfies ContenderRequest, (error) => {
      if (error !== null) reject(error);
    });
  });
}

function logStream(name: string): NodeJS.WritableStream {
  mkdirSync(LOG_DIR, { recursive: true });
  return createWriteStream(join(LOG_DIR, `${name.replaceAll('/', '-')}.log`), { flags: 'a' });
}

function tsxArgs(script: string, nodeArgs: readonly string[] = []): string[] {
  return [...nodeArgs, '--import', 'tsx', join(BENCH_DIR, script)];
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Start `bench/contenders/<module>.ts` in its own process. Resolves with its URL, or
 * with the reason it cannot run here (a string), never rejecting for that.
 */
export function startContender(logName: string, module: string, context: ContenderContext): Promise<RunningContender | string> {
  const child = spawn(process.execPath, tsxArgs('_contender-child.ts'), {
    env: { ...process.env, NODE_ENV: 'production', BENCH_CONTENDER: module, BENCH_CONTEXT: JSON.stringify(context) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  child.stderr?.pipe(logStream(logName));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      void stopChild(child);
      resolve(`did not start within ${START_TIMEOUT_MS / 1000} s`);
    }, START_TIMEOUT_MS);
    child.once('message', (message: ContenderMessage) => {
      clearTimeout(timer);
      if (message.type === 'ready') resolve({ url: `http://127.0.0.1:${message.port}`, cpuUs: () => askCpu(child), stop: () => stopChild(child) });
      else if (message.type === 'unavailable') {
        void stopChild(child);
        resolve(message.reason);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(`exited before it was ready (${signal ?? `code ${code}`}); see bench/.work/logs/${logName}.log`);
    });
  });
}

/** Run a script of bench/ to its end; rejects with the tail of its stderr when it fails. */
export function runScript(script: string, env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<{ stdout: string }> {
  const child = spawn(process.execPath, tsxArgs(script, nodeArgs), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve({ stdout });
      else reject(new Error(`${script} failed (${signal ?? `code ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/** Run a script of bench/ and parse the last line it printed as JSON. */
export async function runJsonScript<T>(script: string, env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<T> {
  const { stdout } = await runScript(script, env, nodeArgs);
  const last = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as T;
  } catch (error) {
    throw new Error(`${script} printed no JSON result`, { cause: error });
  }
}

/**
 * Run load jobs one after the other in one load-generator process; one outcome per job,
 * in order. A job that failed has `error`; a crashed process rejects. `sampleCpu`
 * answers the load generator's requests for the server's CPU time (µs) around each
 * measured run.
 */
export function runLoadJobs(jobs: readonly LoadJob[], sampleCpu?: () => Promise<number>): Promise<LoadOutcome<unknown>[]> {
  const child = spawn(process.execPath, tsxArgs('_load-child.ts'), {
    env: { ...process.env, BENCH_JOBS: JSON.stringify(jobs) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  child.on('message', (message: CpuMark) => {
    if (message.mark === undefined) return;
    (sampleCpu ?? (() => Promise.resolve(Number.NaN)))().then(
      (us) => child.connected && child.send({ cpuUs: us }),
      (error: unknown) => child.connected && child.send({ cpuUs: Number.NaN, error: String(error) }),
    );
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`_load-child.ts failed (${signal ?? `code ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      resolve(stdout.trim().split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as LoadOutcome<unknown>));
    });
  });
}
