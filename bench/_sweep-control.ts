// The machine's own noise beside bench/sweep.ts: an idle process that only measures its
// event loop's delay, as the server does. It serves nothing and touches no disk, so a long
// delay seen here at the same moment as in the server came from the machine (other work,
// the hypervisor), not from the sweep. On stdin, "max" answers the longest delay since the
// last "max" (in ms, one line) and starts a new window. Bounded: it exits when stdin closes,
// or after SWEEP_CONTROL_LIMIT_S seconds.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

const limit = setTimeout(() => process.exit(0), Number(process.env.SWEEP_CONTROL_LIMIT_S ?? '240') * 1000);
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line !== 'max') return;
  process.stdout.write(`${delay.max / 1e6}\n`);
  delay.reset();
});
lines.once('close', () => {
  clearTimeout(limit);
  delay.disable();
});
process.stdout.write('started\n');
