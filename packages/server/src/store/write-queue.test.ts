import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery } from 'kysely';
import { BacklogFullError, WriteQueue } from './write-queue.ts';
import { WriteJournal } from './write-journal.ts';

/**
 * The queue's own rules, against a store that refuses on command: order kept across retries,
 * a bounded backlog with a typed refusal, a write that can never succeed dropped alone, and
 * the journal kept while the store refuses and removed once it has taken everything.
 */
function fakeStore() {
  const committed: string[] = [];
  let refuse: { code?: string; message: string } | null = null;
  return {
    committed,
    refuse(err: { code?: string; message: string } | null) {
      refuse = err;
    },
    writeBatch(stmts: readonly CompiledQuery[]): Promise<void> {
      if (refuse) return Promise.reject(Object.assign(new Error(refuse.message), refuse));
      const bad = stmts.find((q) => q.sql === 'bad');
      if (bad) return Promise.reject(Object.assign(new Error('NOT NULL'), { code: '23502' }));
      committed.push(...stmts.map((q) => q.sql));
      return Promise.resolve();
    },
  };
}
const q = (sql: string) => CompiledQuery.raw(sql, []);

test('writes refused for a while are kept, in order, and taken once the store is back', async () => {
  const store = fakeStore();
  const queue = new WriteQueue(store, { maxPending: 100, retryMinMs: 5, retryMaxMs: 20 });
  store.refuse({ code: 'SQLITE_BUSY', message: 'database is locked' });
  const done = ['a', 'b', 'c'].map((s) => queue.write(q(s)));
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(store.committed, []);
  assert.equal(queue.status().up, false);
  assert.equal(queue.status().reason, 'database is locked');
  done.push(queue.write(q('d')));
  store.refuse(null);
  await Promise.all(done);
  assert.deepEqual(store.committed, ['a', 'b', 'c', 'd']);
  assert.deepEqual(queue.status(), { up: true, pending: 0, reason: null, downSince: null });
});

test('a full backlog refuses the next write with a typed error', async () => {
  const store = fakeStore();
  const queue = new WriteQueue(store, { maxPending: 2, retryMinMs: 5, retryMaxMs: 5 });
  store.refuse({ message: 'connect ECONNREFUSED' });
  const kept = [queue.write(q('a')), queue.write(q('b'))];
  await assert.rejects(queue.write(q('c')), BacklogFullError);
  store.refuse(null);
  await Promise.all(kept);
  assert.deepEqual(store.committed, ['a', 'b']);
});

test('a write that can never succeed is dropped alone', async () => {
  const store = fakeStore();
  const queue = new WriteQueue(store, { maxPending: 10 });
  const r = await Promise.allSettled([q('a'), q('bad'), q('b')].map((x) => queue.write(x)));
  assert.deepEqual(
    r.map((x) => x.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(store.committed, ['a', 'b']);
});

test('the journal holds what the store refuses, is replayed, and goes once taken', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-journal-'));
  const file = join(dir, 'pending-writes.jsonl');
  try {
    const store = fakeStore();
    const troubles: unknown[] = [];
    const journal = () => new WriteJournal(file, 'sqlite', (e) => troubles.push(e));
    const first = new WriteQueue(store, {
      maxPending: 10,
      retryMinMs: 5,
      retryMaxMs: 5,
      journal: journal(),
    });
    store.refuse({ code: 'SQLITE_FULL', message: 'database or disk is full' });
    void first.write(q('a'));
    void first.write(q('b'));
    await first.close(20); // the node stops with the store still refusing
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { sql: string }).sql),
      ['a', 'b'],
    );

    store.refuse(null);
    const second = new WriteQueue(store, { maxPending: 10, journal: journal() });
    assert.equal(await second.recover(), 2);
    assert.deepEqual(store.committed, ['a', 'b']);
    await second.close(100);
    assert.throws(() => readFileSync(file), /ENOENT/, 'the journal has served');
    assert.deepEqual(troubles, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
