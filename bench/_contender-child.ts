// One contender server in its own process: imports bench/contenders/<name>.ts, starts
// it, and tells the harness its port (or why it cannot run) over IPC.
import { UnavailableError, portOf, type Contender, type ContenderContext } from './contenders/_serve.js';

/** Messages from a contender process to the harness. */
export type ContenderMessage =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'unavailable'; readonly reason: string }
  /** This process's CPU time so far (user + system), in µs, answering a `cpu` request. */
  | { readonly type: 'cpu'; readonly us: number };

/** Requests from the harness. */
export type ContenderRequest = { readonly type: 'cpu' };

function send(message: ContenderMessage): void {
  process.send?.(message);
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message.split('\n')[0]}` : '';
  return `${error.message.split('\n')[0]}${cause}`;
}

const name = process.env.BENCH_CONTENDER ?? '';
const context = JSON.parse(process.env.BENCH_CONTEXT ?? '{}') as ContenderContext;
// The harness going away (or killing us) ends the server with it.
process.on('disconnect', () => process.exit(0));
// The harness samples the server's CPU time around each measurement: CPU per request is
// a figure that other work on the machine disturbs far less than req/s.
process.on('message', (request: ContenderRequest) => {
  if (request.type !== 'cpu') return;
  const { user, system } = process.cpuUsage();
  send({ type: 'cpu', us: user + system });
});

try {
  const module = (await import(new URL(`./contenders/${name}.ts`, import.meta.url).href)) as { default: Contender };
  const server = await module.default(context);
  send({ type: 'ready', port: portOf(server) });
} catch (error) {
  // Not an UnavailableError: a real failure to start, still reported (with its message)
  // rather than failing the whole run; the full error goes to this contender's log.
  const prefix = error instanceof UnavailableError ? '' : 'failed to start: ';
  console.error(error);
  send({ type: 'unavailable', reason: `${prefix}${reasonOf(error)}` });
  process.exitCode = 1;
  process.disconnect?.();
}
