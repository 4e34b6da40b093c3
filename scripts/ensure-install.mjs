// Installs dependencies on a fresh clone (or after package-lock.json changed), and builds the
// mediasoup worker once per machine, so that `npm start` and `npm test` work straight after
// `git clone`. Node builtins only.
import { existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');

const stale = !existsSync(marker) || statSync(lock).mtimeMs > statSync(marker).mtimeMs;
if (stale) {
  process.stderr.write('parley: installing dependencies (npm ci)…\n');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// The SFU's worker binary: mediasoup's postinstall download is disabled, so
// scripts/mediasoup-worker.sh builds it from the package's sources and caches it (the path
// config/load.ts looks at). Skipped when MEDIASOUP_WORKER_BIN names one already.
const cache = resolve(process.env.PARLEY_CACHE_DIR ?? join(homedir(), '.cache', 'parley'));
const worker = join(cache, 'mediasoup-worker-3.12.16-ossl', 'mediasoup-worker');
if (!process.env.MEDIASOUP_WORKER_BIN && !existsSync(worker)) {
  process.stderr.write(
    'parley: building the mediasoup worker (one-time, takes several minutes; cached in ' +
      `${dirname(worker)})…\n`,
  );
  const r = spawnSync('bash', [join(root, 'scripts', 'mediasoup-worker.sh')], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
