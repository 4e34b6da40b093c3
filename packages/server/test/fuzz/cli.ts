import { writeFileSync } from 'node:fs';
import { Option } from 'commander';
import { createSchema } from '../cluster-harness.ts';
import { devCommand, whole } from '@parley/bench/dev-cli';
import { startMeetingServer } from '../meeting-kit.ts';
import { FUZZ_SERVER } from './server.ts';
import { fuzz, mb, type FuzzReport } from './run.ts';

/**
 * `npm run fuzz [-- --seed N --frames N --store postgres|sqlite --violations FILE]` (or
 * FUZZ_SEED, FUZZ_FRAMES): a long seeded fuzz run against an in-process node, printing the
 * figures the README quotes. The store is PostgreSQL by default (a private schema in
 * PARLEY_TEST_DATABASE_URL's database), as in the short run of `npm test`. Exits 1 on any
 * violation.
 */

const values = devCommand('fuzz', 'a seeded fuzz run against an in-process Parley node')
  .addOption(
    new Option('--seed <integer>', 'the seed')
      .env('FUZZ_SEED')
      .argParser(whole(Number.MIN_SAFE_INTEGER))
      .default(12),
  )
  .addOption(
    new Option('--frames <count>', 'frames to send')
      .env('FUZZ_FRAMES')
      .argParser(whole(1))
      .default(100_000),
  )
  .addOption(
    new Option('--store <kind>', "the node's store")
      .choices(['postgres', 'sqlite'])
      .default('postgres'),
  )
  .option('--violations <file>', 'write every violation, in full, to this file as JSON')
  .parse()
  .opts<{ seed: number; frames: number; store: 'postgres' | 'sqlite'; violations?: string }>();
const { seed, frames, store } = values;

const schema = store === 'postgres' ? await createSchema() : null;
const srv = await startMeetingServer(
  { ...FUZZ_SERVER.config, ...(schema ? { databaseUrl: schema.url } : {}) },
  FUZZ_SERVER.sfu,
);
let report: FuzzReport;
try {
  report = await fuzz(srv, { seed, frames, progress: (l) => process.stdout.write(`  ${l}\n`) });
} finally {
  await srv.close();
  await schema?.drop();
}
print(report);
process.exit(report.violations.length === 0 ? 0 : 1);

function print(r: FuzzReport): void {
  const s = r.stats;
  // One line per dialect: its error codes, most frequent first.
  const byDialect = new Map<string, Array<[string, number]>>();
  for (const [key, n] of Object.entries(s.errors)) {
    const [dialect = '', code = ''] = key.split(' ');
    byDialect.set(dialect, [...(byDialect.get(dialect) ?? []), [code, n]]);
  }
  const errors = [...byDialect]
    .map(([d, codes]) => {
      const list = codes.sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`);
      return `    ${d}: ${list.join(', ')}`;
    })
    .join('\n');
  const lines = [
    `fuzz: seed ${r.seed}, ${r.frames} frames + ${r.restRequests} REST requests, ${store} store`,
    `  ${(r.durationMs / 1000).toFixed(1)} s, ${Math.round(r.frames / (r.durationMs / 1000))} frames/s`,
    `  sent by dialect: ${Object.entries(s.sent)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
    `  requests with an id: ${s.expected}, answered by that id: ${s.answered}, ` +
      `cut by a documented close: ${s.cutByClose}`,
    `  error answers by dialect and code:\n${errors || '    none'}`,
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
    ...[...new Set(r.violations.map((v) => v.kind))].flatMap((kind) => {
      const of = r.violations.filter((v) => v.kind === kind);
      return [
        `  ${kind}: ${of.length}${of.length > 10 ? ' (the first 10)' : ''}`,
        ...of.slice(0, 10).map((v) => `  - ${v.detail}`),
      ];
    }),
  ];
  if (values.violations) writeFileSync(values.violations, JSON.stringify(r.violations, null, 2));
  process.stdout.write(`${lines.join('\n')}\n`);
}
