// bench/RESULTS.md and the charts in bench/charts/, from one run's results.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { renderChart, type Bar } from './_charts.js';
import { CONTENDERS } from './_contenders.js';
import type { ContenderResults } from './_http-scenarios.js';
import type { ThroughputResult } from './_load-child.js';
import { BENCH_DIR } from './_processes.js';
import type { BenchResults } from './_results.js';
import { formatNumber, formatSpread, quantile, spread, type Spread } from './_stats.js';
import { sweepFigures } from './_sweep-figures.js';
import { checkTargets, type TargetCheck } from './_targets.js';

function groupOf(id: string): Bar['group'] {
  const kind = CONTENDERS.find((spec) => spec.id === id)?.kind;
  if (kind === 'ceiling') return 'ceiling';
  if (kind === 'peer') return 'peer';
  return 'sessionlock';
}

let chartDir = '';
let reportDir = '';

/** A link from the report to a file bench/sweep.ts wrote. */
function sweepLink(file: string): string {
  return relative(reportDir, join(BENCH_DIR, 'results', file));
}

function chart(file: string, title: string, unit: string, bars: Bar[]): string {
  writeFileSync(join(chartDir, file), renderChart({ title, unit, bars }));
  return `![${title}](charts/${file})`;
}

function throughputSection(http: readonly ContenderResults[], which: 'throughput' | 'hotSession', file: string, title: string): string[] {
  const lines = ['| Contender | req/s median (min–max) | p50 ms | p99 ms | max ms | server CPU µs/req | failed |', '|---|---:|---:|---:|---:|---:|---:|'];
  const bars: Bar[] = [];
  for (const result of http) {
    const runs: ThroughputResult[] = result[which];
    if (result.unavailable !== undefined && runs.length === 0) {
      lines.push(`| ${result.id} | not available: ${result.unavailable.replaceAll('|', '/')} | | | | | |`);
      bars.push({ label: result.id, value: undefined, group: groupOf(result.id), note: 'not available' });
      continue;
    }
    if (runs.length === 0) {
      if (which === 'hotSession' && groupOf(result.id) === 'ceiling') continue;
      lines.push(`| ${result.id} | no measurement (${result.errors.join('; ').replaceAll('|', '/') || 'none made'}) | | | | | |`);
      bars.push({ label: result.id, value: undefined, group: groupOf(result.id), note: 'no measurement' });
      continue;
    }
    const rps = spread(runs.map((run) => run.rps));
    const median = (values: number[]): string => formatNumber(spread(values)?.median ?? Number.NaN);
    lines.push(
      `| ${result.id} | ${formatSpread(rps, 0)} | ${median(runs.map((run) => run.p50Ms))} | ${median(runs.map((run) => run.p99Ms))} | ${median(runs.map((run) => run.maxMs))} | ${median(runs.map((run) => run.cpuUsPerRequest ?? Number.NaN))} | ${runs.reduce((sum, run) => sum + run.failed, 0)} |`,
    );
    bars.push({ label: result.id, value: rps?.median, min: rps?.min, max: rps?.max, group: groupOf(result.id) });
  }
  return [...lines, '', chart(file, title, 'req/s', bars)];
}

function lostSection(http: readonly ContenderResults[]): string[] {
  const lines = ['| Contender | increments answered 200 | final counter | lost median (min–max) | failed requests |', '|---|---:|---:|---:|---:|'];
  const bars: Bar[] = [];
  for (const result of http) {
    if (groupOf(result.id) === 'ceiling') continue;
    const runs = result.lostUpdates;
    if (runs.length === 0) {
      const reason = result.unavailable === undefined ? `no measurement (${result.errors.join('; ')})` : `not available: ${result.unavailable}`;
      lines.push(`| ${result.id} | ${reason.replaceAll('|', '/')} | | | |`);
      bars.push({ label: result.id, value: undefined, group: groupOf(result.id), note: 'not available' });
      continue;
    }
    const lost = spread(runs.map((run) => run.lost));
    lines.push(
      `| ${result.id} | ${formatSpread(spread(runs.map((run) => run.expected)), 0)} | ${formatSpread(spread(runs.map((run) => run.final)), 0)} | ${formatSpread(lost, 0)} | ${runs.reduce((sum, run) => sum + run.failed, 0)} |`,
    );
    bars.push({ label: result.id, value: lost?.median, min: lost?.min, max: lost?.max, group: groupOf(result.id) });
  }
  return [...lines, '', chart('scenario-3-lost-updates.svg', 'Scenario 3: lost updates of 201 increments (lower is better)', 'lost', bars)];
}

function sweepSection(results: BenchResults): string[] {
  const figures = sweepFigures(results.sweep);
  if (figures.unavailable !== undefined) {
    chart('scenario-4-sweep.svg', 'Scenario 4: sweeping under load', 'ms', [{ label: 'sweep', value: undefined, group: 'other', note: `not available: ${figures.unavailable}` }]);
    return [`Not available: ${figures.unavailable}.`];
  }
  const lines = [
    'Median (min–max) over the repetitions; the targets are judged on the medians.',
    '',
    '| Store | runs | sessions | removed | sweep s | max event-loop stall ms | the same in an idle process beside it ms | p99 baseline ms | p99 during ms | p99 during ÷ baseline | max baseline ms | max during ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const bars: Bar[] = [];
  const cell = (value: Spread | undefined, digits = 1): string => formatSpread(value, digits);
  for (const row of figures.rows) {
    const seconds = row.sweepMs === undefined ? undefined : { ...row.sweepMs, median: row.sweepMs.median / 1000, min: row.sweepMs.min / 1000, max: row.sweepMs.max / 1000 };
    lines.push(
      `| ${row.label} | ${row.maxStallMs?.count ?? '–'} | ${cell(row.sessions)} | ${cell(row.removed)} | ${cell(seconds)} | ${cell(row.maxStallMs)} | ${cell(row.idleProcessMaxStallMs)} | ${cell(row.p99BaselineMs)} | ${cell(row.p99DuringMs)} | ${cell(row.p99Ratio, 2)} | ${cell(row.maxBaselineMs)} | ${cell(row.maxDuringMs)} |`,
    );
    const bar = (label: string, value: Spread | undefined, group: Bar['group']): Bar => ({
      label: `${row.label}: ${label}`,
      value: value?.median,
      min: value?.min,
      max: value?.max,
      group,
      note: value === undefined ? 'not reported' : undefined,
    });
    bars.push(bar('p99 baseline', row.p99BaselineMs, 'ceiling'), bar('p99 during sweep', row.p99DuringMs, 'sessionlock'), bar('max event-loop stall', row.maxStallMs, 'other'));
  }
  return [
    ...lines,
    '',
    chart('scenario-4-sweep.svg', 'Scenario 4: sweeping under load (lower is better)', 'ms', bars),
    '',
    `Measured by bench/sweep.ts (${formatNumber(results.sweep.durationS ?? Number.NaN)} s), first in the run, before any database server starts; its method and raw figures: [sweep.md](${sweepLink('sweep.md')}), [sweep.json](${sweepLink('sweep.json')}).`,
  ];
}

function wakeupSection(results: BenchResults): string[] {
  const lines = ['| Store | rounds | p50 ms | p99 ms | max ms |', '|---|---:|---:|---:|---:|'];
  const bars: Bar[] = [];
  for (const result of results.wakeup) {
    if (result.unavailable !== undefined && result.latenciesMs.length === 0) {
      lines.push(`| ${result.store} | not available: ${result.unavailable.replaceAll('|', '/')} | | | |`);
      bars.push({ label: result.store, value: undefined, group: 'sessionlock', note: 'not available' });
      continue;
    }
    const values = result.latenciesMs;
    const p50 = quantile(values, 0.5);
    const p99 = quantile(values, 0.99);
    lines.push(`| ${result.store} | ${values.length} | ${formatNumber(p50, 2)} | ${formatNumber(p99, 2)} | ${formatNumber(Math.max(...values), 2)} |`);
    bars.push({ label: `${result.store} p50`, value: p50, group: 'sessionlock' });
    bars.push({ label: `${result.store} p99`, value: p99, group: 'other' });
  }
  return [...lines, '', chart('scenario-5-wakeup.svg', 'Scenario 5: release → acquired in another process (lower is better)', 'ms', bars)];
}

function memorySection(results: BenchResults): string[] {
  const lines = ['| Store | sessions | bytes per session | heap before MiB | heap after MiB |', '|---|---:|---:|---:|---:|'];
  const bars: Bar[] = [];
  for (const entry of results.memory) {
    if (entry.result === undefined) {
      lines.push(`| ${entry.label} | not available: ${(entry.unavailable ?? '').replaceAll('|', '/')} | | | |`);
      bars.push({ label: entry.label, value: undefined, group: entry.group, note: 'not available' });
      continue;
    }
    const { sessions, bytesPerSession, heapBeforeBytes, heapAfterBytes } = entry.result;
    lines.push(`| ${entry.label} | ${sessions.toLocaleString('en-US')} | ${Math.round(bytesPerSession)} | ${formatNumber(heapBeforeBytes / 2 ** 20)} | ${formatNumber(heapAfterBytes / 2 ** 20)} |`);
    bars.push({ label: entry.label, value: bytesPerSession, group: entry.group });
  }
  return [...lines, '', chart('scenario-6-memory.svg', 'Scenario 6: heap per session in a memory store (lower is better)', 'bytes', bars)];
}

function environmentSection(results: BenchResults): string[] {
  const env = results.environment;
  return [
    `- Machine: ${env.cpuModel}, ${env.cores} cores, ${formatNumber(env.memoryGiB)} GiB memory, ${env.os}`,
    `- Load average (1 min) at the start and end of the run: ${formatNumber(results.loadAverage.start)} and ${formatNumber(results.loadAverage.end)} on ${env.cores} cores${results.loadAverage.start > env.cores / 2 || results.loadAverage.end > env.cores / 2 ? ' (other work was running: absolute figures are noisy, compare ratios from the interleaved repetitions)' : ''}`,
    `- Filesystem of the stores' files (bench/.work/): ${env.workFilesystem}`,
    `- Node.js ${env.node}`,
    `- Servers: ${Object.entries(env.servers).map(([name, version]) => `${name}: ${version}`).join('; ')}`,
    `- Packages: ${Object.entries(env.packages).map(([name, version]) => `${name} ${version}`).join(', ')}`,
    ...Object.entries(results.serviceErrors).map(([name, error]) => `- Service ${name} could not be started: ${error}`),
  ];
}

/** A pointer to the pages that explain each S1 miss: a store's page gives what it costs against its peer. */
function missedStoresNote(targets: readonly TargetCheck[]): string[] {
  const stores = [...new Set(targets.flatMap((check) => (check.verdict === 'miss' && check.store !== undefined ? [check.store] : [])))];
  if (stores.length === 0) return [];
  const link = (store: string): string => `[docs/stores/${store}.md](${relative(reportDir, join(BENCH_DIR, '..', 'docs', 'stores', `${store}.md`))})`;
  return ['', `Where the S1 misses come from: ${stores.map(link).join(', ')}.`];
}

/** Write `<outDir>/RESULTS.md` and `<outDir>/charts/*.svg`; returns the report's path. */
export function writeReport(results: BenchResults, outDir: string): string {
  reportDir = outDir;
  chartDir = join(outDir, 'charts');
  mkdirSync(chartDir, { recursive: true });
  const { plan } = results;
  const targets = checkTargets(results);
  const mark = { pass: 'pass', miss: '**miss**', 'not measured': 'not measured' } as const;
  const markdown = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench${results.mode === 'full' ? '' : ` -- --${results.mode}`}\` (${results.mode} run) on ${results.startedAt}, in ${Math.round(results.durationS)} s. ` +
      `Every number comes from this one run on this one machine; the targets are ratios between contenders of the same run.`,
    '',
    '## Machine and versions',
    '',
    ...environmentSection(results),
    '',
    '## Method',
    '',
    `- Each contender is its own server process (bench/contenders/), started fresh for each repetition on a free loopback port; the load generator (autocannon, programmatic API) runs in another process.`,
    `- Contenders run interleaved (A B C … A B C …) over ${plan.repetitions} repetition(s); tables show the median and, for req/s, min–max over the repetitions; latencies are the median of the per-repetition p50/p99/max.`,
    `- Scenario 1: ${plan.connections} connections, each with its own session (a cookie created before the measurement), ${plan.warmupS} s warm-up, then ${plan.durationS} s measured. Scenario 2: the same with all connections on one cookie. req/s counts 200 answers only; "failed" counts non-2xx, errors and timeouts.`,
    `- Server CPU µs/req: the server process's user + system CPU time over the measured seconds (sampled through IPC before and after) divided by its 200 answers; it excludes the database server's CPU, and other work on the machine disturbs it far less than req/s. Target ratios are on req/s, as the issue defines them; the ratio by CPU per request is shown beside them.`,
    `- Route: \`POST /hit\` increments \`hits\` in the session and answers it as JSON. The ceilings count in a process-wide variable and have no session, so scenarios 2 and 3 do not apply to them.`,
    `- Scenario 3: one session is created, then ${plan.lostUpdates.total} increments with ${plan.lostUpdates.inFlight} in flight, each handler awaiting 0–${plan.lostUpdates.maxWorkMs} ms (the same seeded sequence for everyone); one more request reads the counter. lost = answered − counted.`,
    `- Scenario 5: two processes on one store; one holds the session's lease, the other is already waiting in \`manager.open\`; latency = the instant the waiter's open resolved − the instant the holder started its commit (both \`performance.timeOrigin + performance.now()\`), ${plan.wakeupRounds} rounds per store, run before the HTTP scenarios (after them the database servers are still busy with what those wrote: both PostgreSQL and Redis medians rose from about 1.3 ms to 2.2–2.6 ms in one such run).`,
    '- Database servers are the throw-away ones `npm test` starts: PostgreSQL with `fsync`, `synchronous_commit` and `full_page_writes` off, MariaDB with `innodb_flush_log_at_trx_commit=2`, Redis without persistence, so no commit waits for the disk; with a production PostgreSQL every commit adds its WAL flush (the store\'s lease-only statements skip it, see docs/stores/postgres.md).',
    '- File stores (session-file-store and sessionlock\'s): every record write creates a new file and renames it over the old one. sessionlock\'s operation lock is a second name (`link`) of the holder\'s new file, which then becomes the record, so an acquire and a save create and free 2 inodes (session-file-store: 1 per save; sessionlock with lock folders and `owner` files, before 67a19e5: 6). On ext4 without a journal, the allocator checks each recently freed inode it meets before it reuses one (`recently_deleted` in the kernel): with 6 inodes a request, that was about 45 % of the file-store server\'s CPU samples (`perf record -a`), and it grows with the rate of frees. A journaled ext4 skips that check. File system calls per request, by `strace -c`: sessionlock 21 (docs/stores/file.md, Costs), session-file-store 18.',
    `- Scenario 6: one process per store with \`--expose-gc\`; ${plan.memorySessions.toLocaleString('en-US')} sessions (\`{hits: 1}\`) created through sessionlock's manager, or through express-session's \`store.set\` with the object its middleware stores; (heap used after − before) / count, both after gc.`,
    '',
    '## Targets',
    '',
    '| Target | Measured | Verdict |',
    '|---|---|---|',
    ...targets.map((check) => `| ${check.target} | ${check.measured.replaceAll('|', '/')} | ${mark[check.verdict]} |`),
    ...missedStoresNote(targets),
    '',
    `## Scenario 1: throughput, ${plan.connections} connections, one session each`,
    '',
    ...throughputSection(results.http, 'throughput', 'scenario-1-throughput.svg', `Scenario 1: req/s, ${plan.connections} connections, one session each`),
    '',
    `## Scenario 2: one hot session, ${plan.connections} connections sharing one cookie`,
    '',
    ...throughputSection(results.http, 'hotSession', 'scenario-2-hot-session.svg', `Scenario 2: req/s, ${plan.connections} connections on one session`),
    '',
    `## Scenario 3: lost updates (${plan.lostUpdates.total} overlapping increments, ${plan.lostUpdates.inFlight} in flight, 0–${plan.lostUpdates.maxWorkMs} ms handlers)`,
    '',
    ...lostSection(results.http),
    '',
    '## Scenario 4: sweeping under load',
    '',
    ...sweepSection(results),
    '',
    '## Scenario 5: wake-up latency across processes (release → acquired)',
    '',
    ...wakeupSection(results),
    '',
    `## Scenario 6: memory per session at ${plan.memorySessions.toLocaleString('en-US')} sessions`,
    '',
    ...memorySection(results),
    '',
  ].join('\n');
  const path = join(outDir, 'RESULTS.md');
  writeFileSync(path, markdown);
  return path;
}
