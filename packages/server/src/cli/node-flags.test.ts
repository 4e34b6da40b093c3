import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { NODE_FLAGS } from './node-flags.ts';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

test('the bin and `npm start` run node with the server flags', () => {
  const shebang = read('../../bin/parley.mjs').split('\n')[0]!;
  const pkg = JSON.parse(read('../../package.json')) as { scripts: { start: string } };
  for (const flag of NODE_FLAGS) {
    assert.ok(shebang.startsWith('#!/usr/bin/env -S node ') && shebang.includes(flag), shebang);
    assert.match(pkg.scripts.start, new RegExp(`^node ${flag} bin/parley\\.mjs start$`));
  }
});
