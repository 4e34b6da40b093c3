import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildParley,
  builtEnv,
  freePort,
  parleyEnv,
  startParley,
  startPeerJs,
} from './children.ts';

/** The command lines of `pid`'s child processes. */
function childCommands(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`)
    .flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' '))
    .filter(Boolean)
    .map((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').replaceAll('\0', ' '));
}

test("the bench's Parley runs the build, as npm start does, and the tests' the sources", async () => {
  await buildParley();
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-children-test-'));
  try {
    for (const built of [true, false]) {
      const env = parleyEnv({
        port: await freePort(),
        dataDir,
        secret: 'children-test-secret-0123',
      });
      // The tests run with NODE_ENV=test, which makes the bin run the sources through tsx.
      const child = await startParley(built ? builtEnv(env) : env);
      try {
        // Its SQLite process is started the way the server itself was, so it tells which ran.
        const sqlite = childCommands(child.pid).find((c) => c.includes('sqlite-child'));
        assert.ok(sqlite, childCommands(child.pid).join('\n'));
        if (built) {
          assert.match(sqlite, /\/dist\/store\/sqlite-child\.js /);
          assert.doesNotMatch(sqlite, /tsx/);
        } else {
          assert.match(sqlite, /tsx.*\/src\/store\/sqlite-child\.ts /);
        }
      } finally {
        await child.stop();
      }
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("the bench's PeerJS runs by plain node, as its users run it (no tsx loader)", async () => {
  const child = await startPeerJs(await freePort(), 10);
  try {
    const cmd = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    assert.match(cmd, /\/peerjs-child\.mjs/);
    assert.doesNotMatch(cmd, /tsx/);
    assert.doesNotMatch(
      readFileSync(`/proc/${child.pid}/environ`, 'utf8'),
      /NODE_OPTIONS=[^\0]*tsx/,
    );
  } finally {
    await child.stop();
  }
});
