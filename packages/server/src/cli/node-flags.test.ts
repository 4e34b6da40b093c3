import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { NODE_FLAGS } from './node-flags.ts';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

test('the bin and both `npm start` scripts (the package and the root) run node with the server flags', () => {
  const shebang = read('../../bin/parley.mjs').split('\n')[0]!;
  const start = (path: string) =>
    (JSON.parse(read(path)) as { scripts: { start: string } }).scripts.start;
  const flags = NODE_FLAGS.join(' ');
  assert.equal(shebang, `#!/usr/bin/env -S node ${flags}`);
  // exec: the server itself gets npm's SIGTERM (docker stop, systemd), not a shell.
  assert.equal(start('../../package.json'), `exec node ${flags} bin/parley.mjs start`);
  assert.ok(
    start('../../../../package.json').endsWith(
      `&& exec node ${flags} packages/server/bin/parley.mjs start`,
    ),
  );
});

test('the flags give the server a young generation of 64 MB from the start', () => {
  // Without --min-semi-space-size V8 starts it at 1 MB, the size a quiet spell shrinks it back
  // to (see node-flags.ts); with it, 64 MB is both where it starts and its floor.
  const out = execFileSync(
    process.execPath,
    [
      ...NODE_FLAGS,
      '-p',
      "require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size",
    ],
    { encoding: 'utf8' },
  );
  assert.equal(Number(out), 64 * 1024 * 1024);
});
