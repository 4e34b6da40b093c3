import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyOrder } from './reply-order.ts';

/** A promise and its resolvers, to settle answers in any order. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('answers go out in request order, whenever each is ready', async () => {
  const out: string[] = [];
  const errors: unknown[] = [];
  const order = new ReplyOrder<string>(
    (f) => out.push(f),
    (e) => errors.push(e),
  );
  order.send('a'); // nothing pending: out at once
  assert.deepEqual(out, ['a']);
  assert.equal(order.pending, false);
  const b = deferred<string>();
  const c = deferred<string>();
  order.sendLater(b.promise);
  order.sendLater(c.promise);
  order.send('d'); // ready, but behind b and c
  c.resolve('c');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(out, ['a']);
  assert.equal(order.pending, true);
  b.resolve('b');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(out, ['a', 'b', 'c', 'd']);
  assert.equal(order.pending, false);
  assert.deepEqual(errors, []);
});

test('an answer that fails is reported and does not hold the later ones', async () => {
  const out: string[] = [];
  const errors: unknown[] = [];
  const order = new ReplyOrder<string>(
    (f) => out.push(f),
    (e) => errors.push(e),
  );
  const first = deferred<string>();
  const failed = deferred<string>();
  order.sendLater(first.promise);
  order.sendLater(failed.promise);
  order.send('last');
  failed.reject(new Error('boom')); // rejected while `first` is still awaited: handled
  await new Promise((r) => setImmediate(r));
  first.resolve('first');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(out, ['first', 'last']);
  assert.equal((errors[0] as Error).message, 'boom');
  assert.equal(order.pending, false);
});
