// The benchmark harness end to end at its smallest (`--smoke`): two contenders, no
// servers to start, tiny durations. Checks that the report has every section and a
// chart per scenario, and that bench/render.ts writes the same report from its results;
// it asserts no timing and no throughput figure.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'sessionlock-bench-'));
after(() => rmSync(outDir, { recursive: true, force: true }));

describe('npm run bench (smoke run)', () => {
  it('writes RESULTS.md with every section and one chart per scenario', () => {
    const run = spawnSync(
      process.execPath,
      [
        '--import', 'tsx', join(root, 'bench', 'run.ts'),
        '--smoke', '--without-services',
        '--only', '^(node:http \\(no session\\)|sessionlock node \\+ memory)$',
        '--scenarios', '1,2,3,5,6',
        '--out', outDir,
      ],
      { cwd: root, encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    const report = readFileSync(join(outDir, 'RESULTS.md'), 'utf8');
    for (const heading of [
      '## Machine and versions',
      '## Method',
      '## Targets',
      '## Scenario 1: throughput',
      '## Scenario 2: one hot session',
      '## Scenario 3: lost updates',
      '## Scenario 4: sweeping under load',
      '## Scenario 5: wake-up latency',
      '## Scenario 6: memory per session',
    ]) {
      assert.ok(report.includes(heading), `missing section ${heading}`);
    }
    // Servers were not started: their stores must say why, not fail the run.
    assert.match(report, /\| redis \| not available: the redis server is not running/);
    assert.match(report, /\| sessionlock node \+ memory \| \d/);
    for (const chart of ['scenario-1-throughput', 'scenario-2-hot-session', 'scenario-3-lost-updates', 'scenario-4-sweep', 'scenario-5-wakeup', 'scenario-6-memory']) {
      assert.ok(existsSync(join(outDir, 'charts', `${chart}.svg`)), `missing chart ${chart}`);
    }
  });

  it('bench/render.ts writes the same report again from the run\'s results.json', () => {
    const written = readFileSync(join(outDir, 'RESULTS.md'), 'utf8');
    rmSync(join(outDir, 'RESULTS.md'));
    const render = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench', 'render.ts'), '--out', outDir], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(render.status, 0, render.stderr);
    assert.equal(readFileSync(join(outDir, 'RESULTS.md'), 'utf8'), written);
  });
});
