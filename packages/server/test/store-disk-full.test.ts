import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { of, ok, until, startServer, type TestServer } from './harness.ts';
import { answeredCall, fillUp, getJson, tinyFilesystem } from './store-fault-kit.ts';

/**
 * The data dir's disk full (a 4 MB tmpfs filled to the last byte): 30 calls go through, none
 * is announced as recorded while its row cannot be written, and once space is back all 30
 * rows exist and their record events arrive.
 */
let fs: ReturnType<typeof tinyFilesystem>;
let srv: TestServer;
before(async () => {
  fs = tinyFilesystem(4096);
  srv = await startServer({ dataDir: fs.dir, limits: { ratePerSec: 1000, rateBurst: 1000 } });
});
after(async () => {
  await srv?.close();
  fs?.remove();
});

test('disk full under the data dir: 30 calls, 30 rows once space is back', async () => {
  const alice = await srv.connect('f-alice');
  const bob = await srv.connect('f-bob');
  const filler = fillUp(fs.dir);
  let full = true;
  try {
    const calls: string[] = [];
    for (let i = 0; i < 30; i++) {
      const callId = await answeredCall(alice, bob, 'f-bob');
      await ok(alice, 'call:hangup', { callId });
      await bob.next(of('call:ended', callId), 2000);
      calls.push(callId);
    }
    const down = await until('the store is reported down', async () => {
      const h = await getJson(`${srv.httpBase}/healthz`);
      return h.status === 503 ? h.body : undefined;
    });
    assert.match(down.store.reason, /full/i);
    assert.equal(
      alice.frames.find((f) => f.type === 'call:record'),
      undefined,
      'none announced',
    );

    rmSync(filler);
    full = false;
    const token = await srv.token('f-alice');
    for (const callId of calls) {
      await alice.next(of('call:record', callId), 15_000);
      const h = await getJson(`${srv.httpBase}/api/calls/${callId}`, token);
      assert.equal(h.status, 200, `history has ${callId}`);
    }
    const page = await getJson(`${srv.httpBase}/api/calls?limit=100`, token);
    assert.equal(page.body.data.records.length, 30);
  } finally {
    if (full) rmSync(filler, { force: true });
  }
});
