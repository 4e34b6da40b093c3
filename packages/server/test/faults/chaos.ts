import { devCommand, whole } from '@parley/bench/dev-cli';
import { SCENARIOS, type FaultOptions, type Figures } from './scenarios.ts';

/**
 * `npm run chaos`: breaks a real Parley (and its stores) in each of the ways in SCENARIOS
 * while calls churn through it, and prints what the fault cost: calls in progress, records
 * finalised and lost (which must be 0), relay latency during the fault, and time to recover.
 * Exits non-zero when a record was lost or a scenario failed.
 *
 *   npm run chaos -- [--only kill9,postgres] [--pairs 20] [--fault-seconds 20] [--live-calls 1000]
 */

const values = devCommand(
  'chaos',
  'breaks a real Parley and its stores while calls churn through it',
)
  .option('--only <scenarios>', `comma-separated, of: ${Object.keys(SCENARIOS).join(', ')}`)
  .option('--pairs <count>', 'pairs of users making calls', whole(1), 20)
  .option('--fault-seconds <s>', 'how long each fault lasts', whole(1), 20)
  .option('--live-calls <count>', 'calls in progress when the node is killed', whole(0), 1000)
  .option('--warm-seconds <s>', 'calls before the fault', whole(0), 5)
  .parse()
  .opts<{
    only?: string;
    pairs: number;
    faultSeconds: number;
    liveCalls: number;
    warmSeconds: number;
  }>();

const names = values.only ? values.only.split(',') : Object.keys(SCENARIOS);
const unknown = names.filter((n) => !(n in SCENARIOS));
if (unknown.length) {
  process.stderr.write(
    `unknown scenario ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}\n`,
  );
  process.exit(2);
}
const options: FaultOptions = {
  pairs: values.pairs,
  faultMs: values.faultSeconds * 1000,
  liveCalls: values.liveCalls,
  warmMs: values.warmSeconds * 1000,
};

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 1 : 0) : '—');
const rows: Figures[] = [];
let failed = false;
for (const name of names) {
  process.stderr.write(`chaos: ${name} ...\n`);
  try {
    const f = await SCENARIOS[name as keyof typeof SCENARIOS](options);
    rows.push(f);
    if (f.lost > 0) failed = true;
    process.stderr.write(`chaos: ${name}: ${JSON.stringify(f)}\n`);
  } catch (err) {
    failed = true;
    process.stderr.write(`chaos: ${name} FAILED: ${(err as Error).stack ?? String(err)}\n`);
  }
}

process.stdout.write(
  [
    '| fault | calls in progress | records finalised | records lost | relay p99 before / during (ms) | time to recover (ms) | end reasons |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map(
      (f) =>
        `| ${f.scenario} | ${f.inProgress} | ${f.finalised} of ${f.promised} | ${f.lost} | ${ms(f.baselineP99)} / ${ms(f.faultP99)} | ${ms(f.recoverMs)} | ${Object.entries(
          f.reasons,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')} |`,
    ),
  ].join('\n') + '\n',
);
process.exit(failed ? 1 : 0);
