// `npm run bench [-- --quick] [--only REGEX] [--stores REGEX] [--scenarios 1,2,3,4,5,6] [--out DIR]`
//
// Runs every scenario against every contender and writes RESULTS.md plus one SVG chart
// per scenario: a full run into bench/ (committed), a quick smoke run into
// bench/.work/quick/ so it never overwrites the committed results.
// `--smoke` (tiny sizes) and `--without-services` exist for the harness's own test.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVICE_ENV, SERVICE_NAMES, startServices, type ServiceName } from '../test/services/index.js';
import { SERVICE_ERROR_ENV } from '../test/services/names.js';
import { CONTENDERS } from './_contenders.js';
import { runHttpScenarios, type ContenderResults } from './_http-scenarios.js';
import { describeEnvironment } from './_machine.js';
import { runMemory } from './_memory.js';
import { BENCH_DIR, WORK_DIR } from './_processes.js';
import { writeReport } from './_report.js';
import type { BenchResults } from './_results.js';
import { runSweep, type SweepOutcome } from './_sweep.js';
import { CROSS_PROCESS_STORES, runWakeup } from './_wakeup.js';
import type { ServiceUrls } from './contenders/_serve.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    stores: { type: 'string' },
    scenarios: { type: 'string', default: '1,2,3,4,5,6' },
    out: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    'without-services': { type: 'boolean', default: false },
  },
});
const smoke = args.smoke === true;
const quick = args.quick === true || smoke;
const scenarios = new Set((args.scenarios ?? '').split(',').map((part) => part.trim()));
const only = args.only === undefined ? undefined : new RegExp(args.only, 'i');
const outDir = resolve(args.out ?? (quick ? join(WORK_DIR, 'quick') : BENCH_DIR));

// Sized so a full run stays near 20 minutes on a 2-core machine.
const plan = smoke
  ? {
      repetitions: 1,
      connections: 10,
      warmupS: 0,
      durationS: 0.5,
      lostUpdates: { total: 40, inFlight: 8, maxWorkMs: 5 },
      wakeupRounds: 3,
      memorySessions: 2_000,
    }
  : {
      repetitions: quick ? 1 : 3,
      connections: 50,
      warmupS: quick ? 0.5 : 0.75,
      durationS: quick ? 2 : 3,
      lostUpdates: { total: 200, inFlight: 20, maxWorkMs: 20 },
      wakeupRounds: quick ? 15 : 60,
      memorySessions: quick ? 20_000 : 100_000,
    };

const startedAt = Date.now();
const loadAtStart = loadavg()[0] ?? Number.NaN;
const contenders = CONTENDERS.filter((spec) => only === undefined || only.test(spec.id));
// `--stores REGEX` picks the stores of scenario 5 by name (`--stores postgres`).
const storesPattern = args.stores === undefined ? undefined : new RegExp(args.stores, 'i');
const wakeupStores = CROSS_PROCESS_STORES.filter((store) => storesPattern === undefined || storesPattern.test(store));
const httpWanted = ['1', '2', '3'].some((scenario) => scenarios.has(scenario));

// Only the servers this run needs; each comes from test/services (or the user's own, via
// the SESSIONLOCK_TEST_*_URL variables). One that fails to start makes its contenders
// "not available", not the run fail.
const needed = new Set<ServiceName>();
if (httpWanted) for (const spec of contenders) for (const service of spec.services) needed.add(service);
if (scenarios.has('5')) for (const store of wakeupStores) if ((SERVICE_NAMES as readonly string[]).includes(store)) needed.add(store as ServiceName);
if (args['without-services'] === true) needed.clear();
// Scenario 4 needs no server, and runs before any starts: a database server just
// started keeps the disk and a core busy for a while (initdb, InnoDB's first flushes).
// One such run, with the servers starting first, saw a load average of 3.4 during it.
const sweep: SweepOutcome = scenarios.has('4') ? await runSweep(quick) : { unavailable: 'not run (--scenarios)' };
process.stderr.write(`starting services: ${[...needed].join(', ') || 'none'}\n`);
const services = await startServices([...needed]);
const serviceUrls: Record<string, string> = {};
const serviceErrors: Record<string, string> = {};
for (const name of needed) {
  const url = process.env[SERVICE_ENV[name]];
  if (url !== undefined && url !== '') serviceUrls[name] = url;
  else serviceErrors[name] = process.env[SERVICE_ERROR_ENV[name]] ?? 'not started';
}

let http: ContenderResults[] = [];
let wakeup: BenchResults['wakeup'] = [];
let memory: BenchResults['memory'] = [];
try {
  // The wake-ups before the HTTP scenarios: they measure a few ms, and after those the
  // database servers are still busy with what they wrote (checkpoints, vacuum, flushes).
  if (scenarios.has('5')) wakeup = await runWakeup(plan.wakeupRounds, serviceUrls as ServiceUrls, wakeupStores);
  if (httpWanted) http = await runHttpScenarios(contenders, plan, serviceUrls as ServiceUrls);
  if (scenarios.has('6')) memory = await runMemory(plan.memorySessions);
} finally {
  await services.stop();
}

const results: BenchResults = {
  startedAt: new Date(startedAt).toISOString(),
  mode: smoke ? 'smoke' : quick ? 'quick' : 'full',
  plan,
  environment: describeEnvironment(),
  http,
  sweep,
  wakeup,
  memory,
  serviceErrors,
  loadAverage: { start: loadAtStart, end: loadavg()[0] ?? Number.NaN },
  durationS: (Date.now() - startedAt) / 1000,
};
mkdirSync(join(outDir, 'results'), { recursive: true });
writeFileSync(join(outDir, 'results', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
const report = writeReport(results, outDir);
process.stderr.write(`wrote ${report} in ${Math.round(results.durationS)} s\n`);
