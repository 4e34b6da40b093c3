import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSchema } from './cluster-harness.ts';
import { ok, until, startServer, type TestServer } from './harness.ts';
import { answeredCall, getJson } from './store-fault-kit.ts';
import { WebhookReceiver, type Delivery } from './webhook-receiver.ts';

/**
 * Webhooks end to end, on SQLite and on PostgreSQL, with a real HTTP receiver that verifies
 * every delivery with the Standard Webhooks reference library: events in order per call and
 * meeting, never ahead of the API, a receiver that was down gets everything when it is back,
 * and what is given up on is dead-lettered and replayed through the admin API.
 */
const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
/** Quick but real: attempts every 100-400 ms (the default starts at 5 s, for hours). */
const FAST = { retryMinMs: 100, retryMaxMs: 400, pollMs: 50 };

const types = (list: readonly Delivery[]) =>
  WebhookReceiver.distinct(list).map((d) => d.event.type);

async function post(
  srv: TestServer,
  userId: string,
  path: string,
  body: unknown,
  grants?: string[],
) {
  const res = await fetch(`${srv.httpBase}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await srv.token(userId, grants ? { grants } : {})}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

for (const store of ['sqlite', 'postgres'] as const) {
  describe(`webhooks on ${store}`, () => {
    let srv: TestServer;
    let receiver: WebhookReceiver;
    let dropSchema: (() => Promise<void>) | undefined;
    /** What the API showed when each call.ended / meeting.ended arrived (before it was answered). */
    const seenByApi = new Map<string, { status: number; body: Record<string, any> }>(); // eslint-disable-line @typescript-eslint/no-explicit-any

    before(async () => {
      receiver = await WebhookReceiver.start(newSecret());
      const db = store === 'postgres' ? await createSchema() : undefined;
      dropSchema = db?.drop;
      srv = await startServer({
        ...(db ? { databaseUrl: db.url } : {}),
        webhooks: { url: receiver.url, secret: receiver.secret, ...FAST },
      });
      receiver.inspect = async (d) => {
        const { type, data } = d.event;
        if (type === 'call.ended') {
          const token = await srv.token(String(data.record.caller));
          seenByApi.set(d.body, await getJson(`${srv.httpBase}/api/calls/${data.callId}`, token));
        } else if (type === 'meeting.ended') {
          const token = await srv.token('w-host');
          seenByApi.set(
            d.body,
            await getJson(`${srv.httpBase}/api/meetings/${data.meetingId}`, token),
          );
        }
      };
    });
    after(async () => {
      await srv.close();
      await receiver.down();
      await dropSchema?.();
    });

    test('a call: ringing, accepted, ended, signed, in order; ended is what the API returns', async () => {
      const alice = await srv.connect('w-alice');
      const bob = await srv.connect('w-bob');
      const callId = await answeredCall(alice, bob, 'w-bob');
      await ok(alice, 'call:hangup', { callId });
      const got = await until('the three events', () => {
        const list = receiver.of('callId', callId);
        return list.length >= 3 ? list : undefined;
      });
      assert.deepEqual(types(got), ['call.ringing', 'call.accepted', 'call.ended']);
      for (const d of got) {
        assert.ok(d.verified, `${d.event.type} verifies with the Standard Webhooks library`);
        assert.match(String(d.headers['webhook-id']), /^msg_/);
        assert.match(String(d.headers['webhook-signature']), /^v1,/);
        assert.ok(!Number.isNaN(Date.parse(d.event.timestamp)));
      }
      assert.equal(new Set(got.map((d) => d.headers['webhook-id'])).size, 3);
      const ended = got.find((d) => d.event.type === 'call.ended')!;
      // The API already had the record when the event arrived, and it is the same record.
      const api = seenByApi.get(ended.body);
      assert.equal(api?.status, 200);
      assert.deepEqual(ended.event.data.record, api.body.data);
      assert.deepEqual(
        ended.event.data.record,
        (await getJson(`${srv.httpBase}/api/calls/${callId}`, await srv.token('w-bob'))).body.data,
      );
      assert.equal(got[1]!.event.data.answeredBy.clientType, 'web');
    });

    test('a meeting: started, joined, left, ended in order, ended after the API shows it', async () => {
      const { body } = await post(srv, 'w-host', '/api/meetings', { title: 'standup' });
      const meetingId = String(body.data.meetingId);
      assert.equal(
        (await post(srv, 'w-host', `/api/meetings/${meetingId}/join`, { nickname: 'H' })).status,
        200,
      );
      assert.equal(
        (await post(srv, 'w-guest', `/api/meetings/${meetingId}/join`, { nickname: 'G' })).status,
        200,
      );
      assert.equal(
        (await post(srv, 'w-guest', `/api/meetings/${meetingId}/leave`, {})).status,
        200,
      );
      assert.equal((await post(srv, 'w-host', `/api/meetings/${meetingId}/end`, {})).status, 200);
      const got = await until('the meeting events', () => {
        const list = receiver.of('meetingId', meetingId);
        return types(list).includes('meeting.ended') ? list : undefined;
      });
      assert.deepEqual(
        WebhookReceiver.distinct(got).map((d) => `${d.event.type}:${d.event.data.userId ?? ''}`),
        [
          'meeting.started:',
          'participant.joined:w-host',
          'participant.joined:w-guest',
          'participant.left:w-guest',
          'participant.left:w-host',
          'meeting.ended:',
        ],
      );
      assert.ok(got.every((d) => d.verified));
      const ended = got.find((d) => d.event.type === 'meeting.ended')!;
      assert.equal(seenByApi.get(ended.body)?.body.data.status, 'ended');
    });

    test("a user's first device comes: user.online; the last goes: user.offline", async () => {
      const userOf = (d: Delivery) => d.event.data.userId as string;
      const first = await srv.connect('p-user');
      const second = await srv.connect('p-user');
      first.close();
      second.close();
      const got = await until('user.offline', () => {
        const list = receiver.deliveries.filter((d) => userOf(d) === 'p-user');
        return types(list).includes('user.offline') ? list : undefined;
      });
      assert.deepEqual(types(got), ['user.online', 'user.offline']);
      assert.equal(got[0]!.event.data.clientType, 'web');
    });

    test('a receiver down for a while gets every event, in order, once it is back', async () => {
      await receiver.down();
      const failuresBefore = await failures(srv);
      const alice = await srv.connect('d-alice');
      const bob = await srv.connect('d-bob');
      const calls: string[] = [];
      for (let i = 0; i < 3; i++) {
        const callId = await answeredCall(alice, bob, 'd-bob');
        await ok(alice, 'call:hangup', { callId });
        calls.push(callId);
      }
      // Every call's events are committed (its record is in the API, written with call.ended
      // after the others), and attempts are made and fail while it is down.
      const token = await srv.token('d-alice');
      for (const callId of calls)
        await until(`the record of ${callId}`, async () =>
          (await getJson(`${srv.httpBase}/api/calls/${callId}`, token)).status === 200
            ? true
            : undefined,
        );
      await until('failed attempts', async () =>
        (await failures(srv)) >= failuresBefore + 9 ? true : undefined,
      );
      const depth = await srv.app.webhooks.depth();
      assert.ok(depth[0]!.pending >= 9, `pending: ${JSON.stringify(depth)}`);
      await receiver.up();
      for (const callId of calls) {
        const got = await until(`the events of ${callId}`, () => {
          const list = receiver.of('callId', callId);
          return types(list).length >= 3 ? list : undefined;
        });
        assert.deepEqual(types(got), ['call.ringing', 'call.accepted', 'call.ended']);
        assert.ok(got.every((d) => d.verified));
      }
      await until('the queue drained', async () =>
        (await srv.app.webhooks.depth())[0]!.pending === 0 ? true : undefined,
      );
      const metrics = await (await fetch(`${srv.httpBase}/metrics`)).text();
      assert.match(
        metrics,
        /parley_webhook_deliveries_total\{endpoint="default",result="success"\} \d+/,
      );
      assert.match(metrics, /parley_webhook_queue_depth\{endpoint="default"\} 0/);
      assert.match(metrics, /parley_webhook_oldest_pending_seconds\{endpoint="default"\} 0/);
    });
  });
}

/** Failed attempts so far (as the metrics count them). */
async function failures(srv: TestServer): Promise<number> {
  const text = await (await fetch(`${srv.httpBase}/metrics`)).text();
  const m = /parley_webhook_deliveries_total\{endpoint="default",result="failure"\} (\d+)/.exec(
    text,
  );
  return m ? Number(m[1]) : 0;
}

describe('dead letters', () => {
  let srv: TestServer;
  let receiver: WebhookReceiver;

  before(async () => {
    receiver = await WebhookReceiver.start(newSecret());
    srv = await startServer({
      webhooks: {
        endpoints: [
          { name: 'billing', url: receiver.url, secret: receiver.secret, events: ['call.ended'] },
        ],
        ...FAST,
        giveUpAfterMs: 500,
      },
    });
  });
  after(async () => {
    await srv.close();
    await receiver.down();
  });

  test('given up on after giveUpAfterMs, listed and replayed through the admin API; 403 without the grant', async () => {
    receiver.refuse = true;
    const alice = await srv.connect('x-alice');
    const bob = await srv.connect('x-bob');
    const callId = await answeredCall(alice, bob, 'x-bob');
    await ok(alice, 'call:hangup', { callId });
    const admin = await srv.token('ops', { grants: ['admin'] });
    const dead = await until('the dead letter', async () => {
      const { status, body } = await getJson(
        `${srv.httpBase}/api/admin/webhooks/dead?endpoint=billing`,
        admin,
      );
      assert.equal(status, 200);
      return body.data.deadLetters.length > 0 ? body.data.deadLetters : undefined;
    });
    assert.equal(dead.length, 1, 'only call.ended (the filter)');
    assert.equal(dead[0].type, 'call.ended');
    assert.equal(dead[0].lastError, 'HTTP 500');
    assert.ok(dead[0].attempts >= 1, 'tried before it was given up on');
    assert.equal(JSON.parse(dead[0].payload).data.callId, callId);
    // Not an admin: refused.
    const user = await srv.token('x-alice');
    assert.equal((await getJson(`${srv.httpBase}/api/admin/webhooks/dead`, user)).status, 403);
    assert.equal((await post(srv, 'x-alice', '/api/admin/webhooks/dead/replay', {})).status, 403);
    assert.equal(
      (await post(srv, 'ops', '/api/admin/webhooks/dead/replay', { endpoint: 'nope' }, ['admin']))
        .status,
      404,
    );
    assert.equal(
      (await post(srv, 'ops', '/api/admin/webhooks/dead/replay', { ids: ['x'] }, ['admin'])).status,
      400,
    );
    receiver.refuse = false;
    const replay = await post(
      srv,
      'ops',
      '/api/admin/webhooks/dead/replay',
      { ids: [dead[0].id] },
      ['admin'],
    );
    assert.equal(replay.status, 200);
    assert.equal(replay.body.data.replayed, 1);
    const got = await until('the replayed event', () => {
      const list = receiver.of('callId', callId);
      return list.length > 0 ? list : undefined;
    });
    assert.deepEqual(types(got), ['call.ended']);
    assert.equal(
      got[0]!.headers['webhook-id'],
      dead[0].msgId,
      'the same webhook-id (idempotency key)',
    );
    assert.ok(got[0]!.verified);
    const after = await getJson(`${srv.httpBase}/api/admin/webhooks/dead`, admin);
    assert.deepEqual(after.body.data.deadLetters, []);
    const metrics = await (await fetch(`${srv.httpBase}/metrics`)).text();
    assert.match(metrics, /parley_webhook_deliveries_total\{endpoint="billing",result="dead"\} 1/);
  });
});
