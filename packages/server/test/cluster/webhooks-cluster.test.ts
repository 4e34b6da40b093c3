import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { App } from '../../src/app.ts';
import { startCluster, type ClusterServer } from '../cluster-harness.ts';
import { answeredCall } from '../store-fault-kit.ts';
import { WebhookReceiver } from '../webhook-receiver.ts';
import { ok, until } from '../harness.ts';

/**
 * Webhooks in a three-node cluster: one deliverer for the endpoint cluster-wide (the lease),
 * each call's events once and in order whichever node wrote them, and when the delivering
 * node stops, another takes the endpoint over.
 */
let srv: ClusterServer;
let receiver: WebhookReceiver;

before(async () => {
  receiver = await WebhookReceiver.start(`whsec_${randomBytes(24).toString('base64')}`);
  srv = await startCluster({
    webhooks: {
      url: receiver.url,
      secret: receiver.secret,
      retryMinMs: 100,
      retryMaxMs: 400,
      pollMs: 50,
    },
  });
});
after(async () => {
  await srv.close();
  await receiver.down();
});

/** Successful deliveries each node made. */
async function delivered(apps: readonly App[]): Promise<number[]> {
  return Promise.all(
    apps.map(async (a) => {
      const { values } = await a.metrics.webhookDeliveries.get();
      return values.filter((v) => v.labels.result === 'success').reduce((n, v) => n + v.value, 0);
    }),
  );
}

const types = (callId: string) => receiver.of('callId', callId).map((d) => `${d.event.type}`);

async function calls(n: number, tag: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = await srv.connect(`${tag}-a${i}`);
    const b = await srv.connect(`${tag}-b${i}`);
    const callId = await answeredCall(a, b, `${tag}-b${i}`);
    await ok(a, 'call:hangup', { callId });
    out.push(callId);
  }
  return out;
}

test('one deliverer cluster-wide: each event once, in order; another node takes over when it stops', async () => {
  const start = await delivered(srv.apps);
  const first = await calls(3, 'c1');
  for (const callId of first) {
    await until(`the events of ${callId}`, () => (types(callId).length >= 3 ? true : undefined));
    assert.deepEqual(types(callId), ['call.ringing', 'call.accepted', 'call.ended'], 'once each');
  }
  const counts = await delivered(srv.apps);
  const holders = srv.apps.filter((_, i) => counts[i]! > start[i]!);
  assert.equal(holders.length, 1, `one node delivered: ${JSON.stringify(counts)}`);
  // The delivering node stops; the others keep serving and one of them takes the endpoint.
  const holder = holders[0]!;
  await holder.close();
  const rest = srv.apps.filter((a) => a !== holder);
  const before = await delivered(rest);
  const second = await calls(2, 'c2');
  for (const callId of second) {
    await until(`the events of ${callId}`, () => (types(callId).length >= 3 ? true : undefined));
    assert.deepEqual(types(callId), ['call.ringing', 'call.accepted', 'call.ended']);
  }
  const afterCounts = await delivered(rest);
  assert.equal(
    afterCounts.filter((n, i) => n > before[i]!).length,
    1,
    `one successor delivered: ${JSON.stringify(afterCounts)}`,
  );
  assert.ok(receiver.deliveries.every((d) => d.verified));
});
