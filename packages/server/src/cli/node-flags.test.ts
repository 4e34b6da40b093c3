import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { NODE_FLAGS } from './node-flags.ts';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

test('the bin and both `npm start` scripts (the package and the root) run node with the server flags', () => {
  const shebang = read('../../bin/parley.mjs').split('\n')[0]!;
  const start = (path: string) =>
    (JSON.parse(read(path)) as { scripts: { start: string } }).scripts.start;
  for (const flag of NODE_FLAGS) {
    assert.ok(shebang.startsWith('#!/usr/bin/env -S node ') && shebang.includes(flag), shebang);
    // exec: the server itself gets npm's SIGTERM (docker stop, systemd), not a shell.
    assert.match(
      start('../../package.json'),
      new RegExp(`^exec node ${flag} bin/parley\\.mjs start$`),
    );
    assert.match(
      start('../../../../package.json'),
      new RegExp(`&& exec node ${flag} packages/server/bin/parley\\.mjs start$`),
    );
  }
});
