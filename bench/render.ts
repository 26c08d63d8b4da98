// `node --import tsx bench/render.ts [--out DIR]`: writes RESULTS.md and the charts again
// from DIR/results/results.json (default bench/), without measuring anything, so a change
// to the report's wording or layout needs no new 20-minute run.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DIR } from './_processes.js';
import { writeReport } from './_report.js';
import type { BenchResults } from './_results.js';

const { values: args } = parseArgs({ options: { out: { type: 'string' } } });
const outDir = resolve(args.out ?? BENCH_DIR);
const results = JSON.parse(readFileSync(join(outDir, 'results', 'results.json'), 'utf8')) as BenchResults;
process.stderr.write(`wrote ${writeReport(results, outDir)} from the ${results.mode} run of ${results.startedAt}\n`);
