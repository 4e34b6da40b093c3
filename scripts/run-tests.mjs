// Runs every test: unit tests beside the code (packages/*/src/**/*.test.ts) and integration
// tests (packages/*/test/**/*.test.ts), with node's test runner and tsx. Node 20's runner
// takes no globs, so the files are listed here.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.name.endsWith('.test.ts')) yield p;
  }
}

// The cluster suites (three nodes behind nginx, kill -9 and Redis-restart chaos) are not yet
// reliable enough to gate every change: `npm run test:cluster` runs them (see README, Cluster).
const cluster = process.env.PARLEY_TEST_CLUSTER === '1';
const isClusterSuite = (f) => f.includes('test/cluster/') || f.includes('cluster-chaos');
const only = process.argv.slice(2);
const files = [...walk(join(root, 'packages'))]
  .map((f) => relative(root, f))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .filter((f) => isClusterSuite(f) === cluster)
  .sort();
if (files.length === 0) {
  process.stderr.write('no test files found\n');
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
process.exit(r.status ?? 1);
