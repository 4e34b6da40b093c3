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

// Arguments narrow the run to files whose path contains one of them (`npm test -- rooms`).
const only = process.argv.slice(2);
const files = [...walk(join(root, 'packages'))]
  .map((f) => relative(root, f))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
if (files.length === 0) {
  process.stderr.write('no test files found\n');
  process.exit(1);
}
// A hang guard, not a budget. Node 20 applies --test-timeout to each test and also to each
// file as a whole (the file's test inherits the run's timeout), and a file that starts servers
// from the sources (tsx: 11-35 s a start at load 12-14, cluster-chaos starts four) or drives
// Chromium takes minutes on a loaded 2-core machine; the waits inside the tests are bounded on
// their own, so this only ends a file that hangs.
const HANG_MS = 15 * 60_000;
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', `--test-timeout=${HANG_MS}`, ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
process.exit(r.status ?? 1);
