// The load of bench/sweep.ts, in its own process so it does not share the server's event
// loop: CONNECTIONS keep-alive connections, each one visitor with its own session cookie,
// sending requests at a steady pace (SWEEP_CLIENT_RATE requests/s in all; 0 = back to
// back). It records every request's start and end (epoch ms from
// performance.timeOrigin, comparable with the server's clock on one host) and, when
// told "stop <baselineFrom> <sweepStart> <sweepEnd>" on stdin, answers one JSON line of
// latency figures for the requests before and overlapping the sweep, then exits.
// Bounded: it stops by itself after SWEEP_CLIENT_LIMIT_S seconds.
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { quantile } from './_stats.js';

/** Latency figures of one window, in ms. */
export interface WindowStats {
  readonly requests: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const url = new URL(process.env.SWEEP_CLIENT_URL ?? 'http://127.0.0.1:1/');
const connections = Number(process.env.SWEEP_CLIENT_CONNECTIONS ?? '8');
const limitMs = Number(process.env.SWEEP_CLIENT_LIMIT_S ?? '240') * 1000;
const rate = Number(process.env.SWEEP_CLIENT_RATE ?? '0');
// Each visitor's interval between request starts; a late request is not made up for.
const periodMs = rate > 0 ? (connections * 1000) / rate : 0;
const agent = new Agent({ keepAlive: true, maxSockets: connections });
const now = (): number => performance.timeOrigin + performance.now();

const starts: number[] = [];
const ends: number[] = [];
const failed: boolean[] = [];
let running = true;

function once(cookie: string | undefined): Promise<{ cookie: string | undefined; ok: boolean }> {
  return new Promise((resolve) => {
    const req = request(url, { agent, headers: cookie === undefined ? {} : { cookie } }, (res) => {
      const setCookie = res.headers['set-cookie']?.[0]?.split(';')[0];
      res.resume();
      res.once('end', () => resolve({ cookie: setCookie ?? cookie, ok: res.statusCode === 200 }));
    });
    req.once('error', () => resolve({ cookie, ok: false }));
    req.end();
  });
}

async function visitor(): Promise<void> {
  let cookie: string | undefined;
  // Staggered, so the visitors' requests spread over the interval instead of arriving together.
  await sleep(Math.random() * periodMs);
  let nextAt = now();
  while (running) {
    const startedAt = now();
    const result = await once(cookie);
    starts.push(startedAt);
    ends.push(now());
    failed.push(!result.ok);
    cookie = result.cookie;
    nextAt = Math.max(nextAt + periodMs, now());
    if (nextAt > now()) await sleep(nextAt - now());
  }
}

function stats(pick: (start: number, end: number) => boolean): WindowStats {
  const latencies: number[] = [];
  let errors = 0;
  for (let i = 0; i < starts.length; i += 1) {
    const start = starts[i] as number;
    const end = ends[i] as number;
    if (!pick(start, end)) continue;
    latencies.push(end - start);
    if (failed[i] === true) errors += 1;
  }
  return {
    requests: latencies.length,
    errors,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    maxMs: latencies.length === 0 ? Number.NaN : latencies.reduce((max, value) => Math.max(max, value), 0),
  };
}

const visitors = Array.from({ length: connections }, visitor);
const limit = setTimeout(() => {
  running = false;
}, limitMs);
process.stdout.write('started\n');
for await (const line of createInterface({ input: process.stdin })) {
  const [word, from, sweepStart, sweepEnd] = line.split(' ');
  if (word !== 'stop') continue;
  running = false;
  clearTimeout(limit);
  await Promise.all(visitors);
  const a = Number(from);
  const s = Number(sweepStart);
  const e = Number(sweepEnd);
  const baseline = stats((start, end) => start >= a && end < s);
  // A request overlaps the sweep when any part of it fell inside [s, e].
  const during = stats((start, end) => start < e && end > s);
  process.stdout.write(`${JSON.stringify({ baseline, during })}\n`);
  break;
}
agent.destroy();
// The parent keeps its end of the pipe open; let go of ours so this process can exit.
process.stdin.destroy();
