import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

/**
 * In a child process: node's test runner catches rejections itself, which would hide whether
 * the guard kept the process up.
 */
const SCRIPT = `
import { pino } from 'pino';
import { guardProcess } from ${JSON.stringify(new URL('./process-guard.ts', import.meta.url).href)};
guardProcess(pino());
Promise.reject(new RangeError('Maximum call stack size exceeded'));
setTimeout(() => process.stdout.write('still up\\n'), 50);
`;

test('an unhandled rejection is logged and the process stays up', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, out);
  const line = out.split('\n').find((l) => l.includes('unhandled_rejection'));
  assert.ok(line, out);
  assert.match(line, /Maximum call stack size exceeded/);
  assert.match(out, /still up/);
});
