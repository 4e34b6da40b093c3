import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildNodes } from './child-nodes.ts';
import { createSchema } from './cluster-harness.ts';
import { answeredCall, getJson } from './store-fault-kit.ts';
import { WebhookReceiver } from './webhook-receiver.ts';
import { of, ok, until } from './harness.ts';

/**
 * kill -9 of a node between the commit of its events and their delivery: the next run on the
 * same store delivers them (and announces the end of the call the killed run left ringing),
 * on SQLite and on PostgreSQL.
 */
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

for (const store of ['sqlite', 'postgres'] as const) {
  test(`${store}: events committed before a kill -9 are delivered by the next run`, async () => {
    const receiver = await WebhookReceiver.start(`whsec_${randomBytes(24).toString('base64')}`);
    cleanups.push(() => receiver.down());
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-hook-restart-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const db = store === 'postgres' ? await createSchema() : undefined;
    if (db) cleanups.push(db.drop);
    const nodes = new ChildNodes(dataDir, () => ({
      PARLEY_WEBHOOK_URL: receiver.url,
      PARLEY_WEBHOOK_SECRET: receiver.secret,
      PARLEY_WEBHOOK_RETRY_MIN_MS: '100',
      PARLEY_WEBHOOK_RETRY_MAX_MS: '400',
      PARLEY_WEBHOOK_POLL_MS: '50',
      PARLEY_STORE_LAST_SEEN_MS: '200',
      ...(db ? { DATABASE_URL: db.url } : {}),
    }));
    cleanups.push(() => nodes.close());

    receiver.refuse = true;
    const first = await nodes.start();
    const alice = await nodes.client(first.port, 'k-alice');
    const bob = await nodes.client(first.port, 'k-bob');
    const carol = await nodes.client(first.port, 'k-carol');
    const done = await answeredCall(alice, bob, 'k-bob');
    await ok(alice, 'call:hangup', { callId: done });
    const { callId: ringing } = (
      await ok(alice, 'call:invite', { callee: 'k-carol', media: 'audio' })
    ).data as { callId: string };
    await carol.next(of('call:incoming', ringing));
    // Committed: the deliverer has read them from the store and tried (refused).
    const tried = (callId: string, type: string) =>
      receiver.refused.some((b) => {
        const e = JSON.parse(b) as { type: string; data: { callId?: string } };
        return e.type === type && e.data.callId === callId;
      });
    // Committed: the deliverer has read the calls' first events from the store and tried them
    // (refused: the rest of each call's events wait behind them), and the API has the ended
    // call's record, which was committed with its call.ended.
    await until('both calls tried', () =>
      tried(done, 'call.ringing') && tried(ringing, 'call.ringing') ? true : undefined,
    );
    const token = await nodes.auth.mint('k-alice');
    await until('the record in the API', async () =>
      (await getJson(`http://127.0.0.1:${first.port}/api/calls/${done}`, token)).status === 200
        ? true
        : undefined,
    );
    process.kill(first.child.pid, 'SIGKILL');
    await first.child.stop(0);
    nodes.closeClients();
    assert.equal(receiver.of('callId', done).length, 0, 'nothing was delivered before the kill');

    receiver.refuse = false;
    await nodes.start();
    const types = (callId: string) =>
      WebhookReceiver.distinct(receiver.of('callId', callId)).map((d) => d.event.type);
    await until('the answered call', () => (types(done).length >= 3 ? true : undefined), 60_000);
    assert.deepEqual(types(done), ['call.ringing', 'call.accepted', 'call.ended']);
    await until(
      'the ringing call ended by the restart',
      () => (types(ringing).includes('call.ended') ? true : undefined),
      60_000,
    );
    assert.deepEqual(types(ringing), ['call.ringing', 'call.ended']);
    const ended = receiver.of('callId', ringing).find((d) => d.event.type === 'call.ended')!;
    assert.equal(ended.event.data.record.reason, 'node_restart');
    assert.ok(receiver.deliveries.every((d) => d.verified));
  });
}
