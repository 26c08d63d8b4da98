// The load generator, always in its own process so it never shares an event loop with
// the server it measures. Reads jobs from BENCH_JOBS, prints one JSON line per job.
import autocannon from 'autocannon';

/** Scenario 1 (one session per connection) or 2 (every connection on one session). */
export interface ThroughputJob {
  readonly kind: 'throughput';
  readonly url: string;
  readonly connections: number;
  readonly sessions: 'per-connection' | 'shared';
  readonly warmupS: number;
  readonly durationS: number;
}

/** Scenario 3: overlapping increments on one session. */
export interface LostUpdatesJob {
  readonly kind: 'lost-updates';
  readonly url: string;
  readonly total: number;
  readonly inFlight: number;
  readonly maxWorkMs: number;
}

/** A job for this process. */
export type LoadJob = ThroughputJob | LostUpdatesJob;

/** What a throughput job measured. Latencies in ms; `rps` counts 2xx answers only. */
export interface ThroughputResult {
  readonly rps: number;
  /** The server process's CPU time (user + system) per 2xx answer, in µs; NaN when not sampled. */
  readonly cpuUsPerRequest: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly ok: number;
  readonly failed: number;
}

/** What a lost-updates job counted. */
export interface LostUpdatesResult {
  /** Successful increments, the creating request included. */
  readonly expected: number;
  /** The counter the session holds afterwards. */
  readonly final: number;
  readonly lost: number;
  readonly failed: number;
}

/** A request to the harness to sample the server's CPU time (sent over IPC). */
export interface CpuMark {
  readonly mark?: 'start' | 'end';
}

/** The server's CPU time now, in µs, as the harness sampled it (NaN without a harness). */
function sampleServerCpu(mark: 'start' | 'end'): Promise<number> {
  const send = process.send?.bind(process);
  if (send === undefined) return Promise.resolve(Number.NaN);
  return new Promise((resolve) => {
    process.once('message', (reply: { cpuUs: number }) => resolve(reply.cpuUs));
    send({ mark } satisfies CpuMark);
  });
}

/** POST /hit and return the `name=value` of the cookie it set, if any, and the counter. */
async function hit(url: string, cookie: string | undefined, workMs = 0): Promise<{ status: number; cookie?: string; hits?: number }> {
  const response = await fetch(`${url}/hit${workMs > 0 ? `?work=${workMs}` : ''}`, {
    method: 'POST',
    headers: cookie === undefined ? {} : { cookie },
  });
  const text = await response.text();
  const setCookie = response.headers.getSetCookie()[0]?.split(';')[0];
  const hits = response.ok ? (JSON.parse(text) as { hits: number }).hits : undefined;
  return { status: response.status, ...(setCookie === undefined ? {} : { cookie: setCookie }), ...(hits === undefined ? {} : { hits }) };
}

async function createCookies(url: string, count: number): Promise<string[]> {
  const cookies: string[] = [];
  for (let i = 0; i < count; i++) {
    const { status, cookie } = await hit(url, undefined);
    if (status !== 200) throw new Error(`creating a session answered ${status}`);
    // The ceilings set no cookie; they get an empty header, which they ignore.
    cookies.push(cookie ?? '');
  }
  return cookies;
}

async function throughput(job: ThroughputJob): Promise<ThroughputResult> {
  const cookies = await createCookies(job.url, job.sessions === 'shared' ? 1 : job.connections);
  const run = (durationS: number): Promise<autocannon.Result> => {
    let next = 0;
    return autocannon({
      url: `${job.url}/hit`,
      method: 'POST',
      connections: job.connections,
      duration: durationS,
      timeout: 20,
      // Each connection gets its own cookie (or all share the one), fixed for the run.
      // An empty POST carries `content-length: 0`, as browsers send it; without it
      // Express answers several times slower, which would measure the client, not the server.
      setupClient: (client) => client.setHeaders({ cookie: cookies[next++ % cookies.length] ?? '', 'content-length': '0' }),
    });
  };
  if (job.warmupS > 0) await run(job.warmupS);
  const cpuStartUs = await sampleServerCpu('start');
  const result = await run(job.durationS);
  const cpuEndUs = await sampleServerCpu('end');
  return {
    rps: result['2xx'] / result.duration,
    cpuUsPerRequest: (cpuEndUs - cpuStartUs) / result['2xx'],
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    ok: result['2xx'],
    failed: result.non2xx + result.errors + result.timeouts,
  };
}

/** A small seeded generator, so every contender gets the same sequence of work times. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

async function lostUpdates(job: LostUpdatesJob): Promise<LostUpdatesResult> {
  const first = await hit(job.url, undefined);
  if (first.cookie === undefined) throw new Error('the first request set no cookie');
  const cookie = first.cookie;
  const random = seededRandom(42);
  const works = Array.from({ length: job.total }, () => Math.floor(random() * (job.maxWorkMs + 1)));
  let next = 0;
  let ok = 1;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < works.length) {
      const workMs = works[next++] ?? 0;
      const { status } = await hit(job.url, cookie, workMs);
      if (status === 200) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: job.inFlight }, worker));
  // One more request after the burst, alone, reads the counter (and adds itself).
  const last = await hit(job.url, cookie);
  if (last.hits === undefined) throw new Error(`the final request answered ${last.status}`);
  const final = last.hits - 1;
  return { expected: ok, final, lost: ok - final, failed };
}

/** One line of this process's output per job, in order: its result or its error. */
export type LoadOutcome<T> = { readonly result: T } | { readonly error: string };

// Several jobs in one process, so a contender pays one load-generator start, not three.
const jobs = JSON.parse(process.env.BENCH_JOBS ?? '[]') as LoadJob[];
for (const job of jobs) {
  let outcome: LoadOutcome<ThroughputResult | LostUpdatesResult>;
  try {
    outcome = { result: job.kind === 'throughput' ? await throughput(job) : await lostUpdates(job) };
  } catch (error) {
    outcome = { error: error instanceof Error ? error.message : String(error) };
  }
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}
// The IPC channel would keep this process alive.
process.disconnect?.();
