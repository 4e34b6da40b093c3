import { parseArgs } from 'node:util';
import { startMeetingServer } from '../meeting-kit.ts';
import { FUZZ_SERVER } from './server.ts';
import { fuzz, mb, type FuzzReport } from './run.ts';

/**
 * `npm run fuzz [-- --seed N --frames N]` (or FUZZ_SEED / FUZZ_FRAMES): a long seeded fuzz run
 * against an in-process node, printing the figures the README quotes. Exits 1 on any violation.
 */

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: process.env.FUZZ_SEED ?? '12' },
    frames: { type: 'string', default: process.env.FUZZ_FRAMES ?? '100000' },
  },
});
const seed = Number(values.seed);
const frames = Number(values.frames);
if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(frames) || frames < 1) {
  process.stderr.write('usage: npm run fuzz -- [--seed <integer>] [--frames <count>]\n');
  process.exit(2);
}

const srv = await startMeetingServer(FUZZ_SERVER.config, FUZZ_SERVER.sfu);
let report: FuzzReport;
try {
  report = await fuzz(srv, { seed, frames, progress: (l) => process.stdout.write(`  ${l}\n`) });
} finally {
  await srv.close();
}
print(report);
process.exit(report.violations.length === 0 ? 0 : 1);

function print(r: FuzzReport): void {
  const s = r.stats;
  const sorted = (o: Record<string, number>) =>
    Object.entries(o)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `    ${k}: ${n}`)
      .join('\n') || '    (none)';
  const lines = [
    `fuzz: seed ${r.seed}, ${r.frames} frames + ${r.restRequests} REST requests`,
    `  ${(r.durationMs / 1000).toFixed(1)} s, ${Math.round(r.frames / (r.durationMs / 1000))} frames/s`,
    `  sent by dialect: ${Object.entries(s.sent)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
    `  requests with an id: ${s.expected}, answered by that id: ${s.answered}`,
    `  error answers by dialect and code:\n${sorted(s.errors)}`,
    `  REST answers by status: ${Object.entries(r.restStatus)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
    `  documented closes: ${
      Object.entries(s.closes)
        .map(([k, n]) => `${k} ×${n}`)
        .join(', ') || 'none'
    }`,
    `  heap after GC: ${mb(r.heap.baseline)} before, ${mb(r.heap.after)} after`,
    `  violations: ${r.violations.length}`,
    ...r.violations.slice(0, 50).map((v) => `  - ${v.kind}: ${v.detail}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
