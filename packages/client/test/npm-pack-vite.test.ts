import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { DEFAULT_CHROMIUM, launchChromium } from '@parley/bench/browser';
import { startServer, type TestServer } from '../../server/test/harness.ts';

/**
 * The SDK as a user gets it: `npm pack` of @parley/client, installed from the tarball into a
 * fresh Vite project outside the workspace, a tiny app (vite-app/) type-checked against the
 * shipped declarations and built by Vite, served by Parley; two Chromium pages sign in with
 * tokens and one calls the other.
 *
 * No network: the tarball is a file, and its one dependency, mediasoup-client, is linked to the
 * workspace's copy; Vite and TypeScript are the workspace's (root devDependencies).
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const APP = fileURLToPath(new URL('./vite-app/', import.meta.url));
const WAIT = { timeout: 45_000 } as const;

const run = promisify(execFile);

/** A user's shell: without the variables `npm test` sets for its scripts, and no NODE_ENV. */
const userEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && k !== 'NODE_ENV'),
);

/** Runs a command with a time box; when it fails (or runs out of time) the error has its output. */
async function sh(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<void> {
  try {
    await run(cmd, args, { cwd, env: userEnv, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`, {
      cause: err,
    });
  }
}

describe('the SDK from `npm pack` in a fresh Vite project', () => {
  let dir: string;
  let project: string;
  let installed: string;

  before(
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'parley-sdk-pack-'));
      project = join(dir, 'app');
      // prepack builds the SDK (and the protocol it takes its types from).
      await sh('npm', ['pack', '-w', '@parley/client', '--pack-destination', dir], ROOT, 300_000);
      const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
      assert.ok(tarball, `npm pack left no tarball in ${dir}`);

      const pkg = {
        name: 'sdk-user',
        private: true,
        type: 'module',
        dependencies: {
          'mediasoup-client': `file:${join(ROOT, 'node_modules', 'mediasoup-client')}`,
        },
      };
      mkdirSync(project);
      writeFileSync(join(project, 'package.json'), JSON.stringify(pkg, null, 2));
      await sh(
        'npm',
        ['install', join(dir, tarball), '--offline', '--ignore-scripts', '--no-audit', '--no-fund'],
        project,
        120_000,
      );
      installed = join(project, 'node_modules', '@parley', 'client');
      for (const f of ['index.html', 'main.ts']) copyFileSync(join(APP, f), join(project, f));
    },
    { timeout: 600_000 },
  );
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  test('the tarball holds the built SDK, self-contained', () => {
    assert.ok(!lstatSync(installed).isSymbolicLink(), 'the SDK was extracted, not linked');
    assert.deepEqual(readdirSync(installed).sort(), ['dist', 'package.json']);
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      exports: Record<string, { types: string; import: string }>;
    };
    assert.deepEqual(Object.keys(manifest.dependencies), ['mediasoup-client']);
    // @parley/protocol is not published: its types are inlined, and the JS never imported it.
    assert.ok(!existsSync(join(project, 'node_modules', '@parley', 'protocol')));
    const entry = manifest.exports['.']!;
    for (const file of [entry.types, entry.import]) {
      assert.doesNotMatch(readFileSync(join(installed, file), 'utf8'), /@parley\/protocol/);
    }
  });

  test('an app type-checks against the shipped declarations', { timeout: 180_000 }, async () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'bundler',
          lib: ['ES2023', 'DOM', 'DOM.Iterable'],
          types: [],
          strict: true,
          noEmit: true,
          // The shipped declarations (and mediasoup-client's) are checked, TypeScript's own not.
          skipDefaultLibCheck: true,
        },
        include: ['main.ts'],
      }),
    );
    await sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc')], project, 150_000);
  });

  describe('built by Vite and served by Parley', () => {
    let srv: TestServer;
    let browser: Browser;

    before(
      async () => {
        const vite = join(ROOT, 'node_modules/vite/bin/vite.js');
        await sh(process.execPath, [vite, 'build', '--logLevel', 'warn'], project, 120_000);
        srv = await startServer({ web: { dir: join(project, 'dist') } });
        browser = await launchChromium(process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM);
      },
      { timeout: 180_000 },
    );
    after(async () => {
      await browser?.close();
      await srv?.close();
    });

    /** The app in a browser context of its own, signed in as `userId`. */
    async function open(userId: string, query: Record<string, string> = {}): Promise<Page> {
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on('pageerror', (err) => process.stderr.write(`[${userId}] ${err.message}\n`));
      const token = await srv.token(userId, { name: userId });
      await page.goto(`${srv.httpBase}/?${new URLSearchParams({ token, ...query }).toString()}`);
      return page;
    }

    /** Waits until the app shows `data-<key>="<value>"`; on failure says what it shows. */
    async function shows(page: Page, key: string, value: string): Promise<void> {
      const status = page.locator('#status');
      try {
        await page.locator(`#status[data-${key}="${value}"]`).waitFor(WAIT);
      } catch (err) {
        const seen = await status.evaluate((e) => JSON.stringify((e as HTMLElement).dataset));
        throw new Error(`waited for data-${key}="${value}", the app shows ${seen}`, { cause: err });
      }
    }

    test(
      'alice calls bob: he answers, the call is accepted and media connects',
      { timeout: 180_000 },
      async () => {
        const bob = await open('bob');
        await shows(bob, 'user', 'bob');
        const alice = await open('alice', { callee: 'bob' });
        // Chrome opens the microphone only for the tab in front: alice's opens while bob's rings.
        await shows(alice, 'local', 'ready');
        await shows(bob, 'ringing', 'alice');
        await bob.bringToFront();
        await bob.locator('#answer').click();

        await shows(bob, 'call', 'accepted');
        await shows(alice, 'call', 'accepted');
        await shows(alice, 'media', 'connected');
        await shows(bob, 'media', 'connected');
        await shows(alice, 'tracks', '1');
        await shows(alice, 'peer', 'bob');
        await shows(bob, 'tracks', '1');
        for (const page of [alice, bob]) {
          assert.equal(await page.locator('#status').getAttribute('data-error'), null);
        }
      },
    );
  });
});
