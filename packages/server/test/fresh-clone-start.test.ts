import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './cluster-harness.ts';

/**
 * The front door: `npm start` in a fresh clone of the repository (HEAD, so what is committed;
 * no dist/, no data/) builds the server, serves the demo and answers a token minted with
 * `npx parley token` from the same checkout, and stops cleanly on SIGTERM. It broke once
 * unnoticed while every other test ran the sources through tsx.
 *
 * The installed node_modules are linked in rather than installed again (`npm ci` is what
 * `npm start` runs when they are missing, and takes minutes and the network). The server
 * listens on a free port (PORT), not the default 8080: the tests run in parallel on a shared
 * machine, where 8080 may be anyone's.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Builds the protocol, the SDK and the server with tsc on a loaded machine: minutes. */
const READY_MS = 10 * 60_000;
const STOP_MS = 60_000;

/** A clone of HEAD in a temporary folder, with this checkout's node_modules linked in. */
function freshClone(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-clone-'));
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).toString().trim();
  execFileSync('git', ['clone', '-q', '--no-checkout', ROOT, dir]);
  execFileSync('git', ['-C', dir, 'checkout', '-q', head]);
  assert.equal(existsSync(join(dir, 'data')), false, 'a clone has no data/');
  assert.equal(existsSync(join(dir, 'packages/server/dist')), false, 'a clone has no dist/');

  // Every package links to the installed one, but the workspaces (@parley/*) and the bins
  // (relative links) must point into the clone: those links are made again there.
  const installed = join(ROOT, 'node_modules');
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  for (const name of readdirSync(installed)) {
    if (name === '@parley' || name === '.bin') {
      mkdirSync(join(modules, name));
      for (const link of readdirSync(join(installed, name))) {
        symlinkSync(readlinkSync(join(installed, name, link)), join(modules, name, link));
      }
    } else {
      symlinkSync(join(installed, name), join(modules, name));
    }
  }
  // A checkout's package-lock.json is newer than the install, which would make `npm start`
  // run `npm ci` (scripts/ensure-install.mjs): the linked install is the one of this lock.
  // (A second older: utimes takes whole milliseconds, and rounding may land after the install.)
  const installedAt = new Date(statSync(join(installed, '.package-lock.json')).mtimeMs - 1000);
  utimesSync(join(dir, 'package-lock.json'), installedAt, installedAt);
  return dir;
}

/** This environment without what would point Parley away from a fresh checkout's defaults. */
function userEnv(port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // NODE_ENV=test would run the sources through tsx; npm_* and INIT_CWD come from an
    // enclosing `npm test` and would point npm at this checkout. PARLEY_CACHE_DIR stays: it
    // says where this machine keeps its mediasoup worker build.
    const foreign =
      (/^(PARLEY_|npm_)/.test(k) && k !== 'PARLEY_CACHE_DIR') ||
      ['NODE_ENV', 'INIT_CWD', 'DATABASE_URL', 'REDIS_URL', 'HOST', 'LOG_LEVEL'].includes(k);
    if (!foreign) env[k] = v;
  }
  return { ...env, PORT: String(port) };
}

/** Files of `dir`, recursively, relative to it. */
function filesOf(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesOf(join(dir, e.name), `${prefix}${e.name}/`) : [prefix + e.name],
  );
}

/** Whether any process of the group `pgid` is left. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

test(
  'npm start on a fresh clone: builds, serves the demo, honours npx parley token, stops on SIGTERM',
  { timeout: READY_MS + 5 * 60_000 },
  async () => {
    const dir = freshClone();
    const port = await freePort();
    const env = userEnv(port);
    const base = `http://127.0.0.1:${port}`;
    // Its own process group, so that nothing it starts (the SQLite process, the mediasoup
    // workers) can outlive the test unseen.
    const npm = spawn('npm', ['start'], { cwd: dir, env, detached: true, stdio: 'pipe' });
    // The runner ends a file that overruns with SIGTERM: the group must not outlive it.
    const abandon = () => {
      if (groupAlive(npm.pid!)) process.kill(-npm.pid!, 'SIGKILL');
      process.exit(1);
    };
    process.once('SIGTERM', abandon);
    let output = '';
    const keep = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-16_384));
    npm.stdout.on('data', keep);
    npm.stderr.on('data', keep);
    const exited = new Promise<number | null>((resolve) => npm.once('exit', resolve));
    let exitCode: number | null | undefined;
    void exited.then((code) => (exitCode = code));
    const fail = (what: string) => assert.fail(`${what}\n--- npm start output:\n${output}`);
    try {
      // Up: /healthz answers 200 once the build is done and the server listens.
      const deadline = Date.now() + READY_MS;
      for (;;) {
        if (exitCode !== undefined) fail(`npm start exited (${exitCode}) before serving`);
        // The linked install must do: a second one would take minutes and the network.
        if (output.includes('installing dependencies')) fail('npm start ran npm ci');
        const status = await fetch(`${base}/healthz`).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 200) break;
        if (Date.now() > deadline) fail(`no /healthz 200 within ${READY_MS} ms (last ${status})`);
        await new Promise((r) => setTimeout(r, 1000));
      }

      // The demo, built by `npm start` (build:web) into packages/demo/dist.
      const page = await fetch(`${base}/`);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /<title>Parley<\/title>/);
      assert.match(html, /src="\/app\.js"/);
      const app = await fetch(`${base}/app.js`);
      assert.equal(app.status, 200);
      assert.match(app.headers.get('content-type') ?? '', /javascript/);
      assert.ok((await app.text()).length > 10_000, 'the bundled demo');

      // Tokens minted from the checkout's root share the server's secret (in ./data).
      const token = async (...args: string[]) => {
        const { stdout } = await promisify(execFile)('npx', ['parley', 'token', ...args], {
          cwd: dir,
          env,
        });
        return stdout.trim();
      };
      const adminCalls = async (t: string) =>
        (await fetch(`${base}/api/admin/calls`, { headers: { authorization: `Bearer ${t}` } }))
          .status;
      assert.equal(await adminCalls(await token('ops', '--grant', 'admin')), 200);
      assert.equal(await adminCalls(await token('ops')), 403, 'no admin grant');

      // The production build holds no tests and no test helpers (tsconfig.build.json).
      const dist = join(dir, 'packages/server/dist');
      assert.ok(existsSync(join(dist, 'cli/main.js')), 'the server was built');
      assert.deepEqual(
        filesOf(dist).filter((f) => /\.(test|kit)\.(js|d\.ts)$/.test(f)),
        [],
        'test code in dist/',
      );

      // SIGTERM (as a service manager or `docker stop` sends it to npm): a clean exit, and
      // nothing of the group left behind.
      npm.kill('SIGTERM');
      const stopped = await Promise.race([
        exited,
        new Promise<'late'>((r) => setTimeout(() => r('late'), STOP_MS).unref()),
      ]);
      if (stopped !== 0) fail(`npm start ended with ${stopped} after SIGTERM`);
      const gone = Date.now() + 10_000;
      while (groupAlive(npm.pid!) && Date.now() < gone)
        await new Promise((r) => setTimeout(r, 100));
      assert.equal(groupAlive(npm.pid!), false, 'a process of npm start outlived it');
      assert.match(output, /"event":"signal"/, 'the server heard the signal');
    } finally {
      process.off('SIGTERM', abandon);
      if (groupAlive(npm.pid!)) process.kill(-npm.pid!, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
