import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_OPS } from '../src/http/index.ts';
import { admin, call } from './admin-kit.ts';
import { until, recordRow, type Frame, type TestClient, type TestServer } from './harness.ts';
import {
  DTLS,
  audioRtp,
  createMeeting,
  joinMeeting,
  meetingWs,
  startMeetingServer,
  wsSignaling,
} from './meeting-kit.ts';

/**
 * The admin API on one node with a real SFU: who may call it, every route, and what each does
 * to the sockets, calls and meetings it names (token revocation: admin-revocation.test.ts).
 */

const of =
  (type: string, callId: string) =>
  (f: Frame): boolean =>
    f.type === type && (f.data?.callId ?? f.data?.record?.callId) === callId;

describe('admin API (single node)', () => {
  let srv: TestServer;
  const sockets: TestClient[] = [];

  before(async () => {
    srv = await startMeetingServer({ limits: { rateBurst: 1000 }, rest: { rateBurst: 1000 } });
  });
  after(async () => {
    for (const c of sockets) c.close();
    await srv.close();
  });

  test('every admin route: 401 without a token, 403 (40301) without the admin grant', async () => {
    const user = await srv.token('mallory', { grants: ['presence:all', 'voice'] });
    for (const key of Object.keys(ADMIN_OPS)) {
      const [method, path] = key.split(' ') as [string, string];
      const url = `/api/admin${path.replace(/:[A-Za-z]+/g, 'x1')}`;
      const none = await call(srv, null, method, url, {});
      assert.equal(none.status, 401, `${key} without a token`);
      assert.equal(none.body.code, 40101);
      const denied = await call(srv, user, method, url, {});
      assert.equal(denied.status, 403, `${key} as a user: ${JSON.stringify(denied.body)}`);
      assert.deepEqual(
        { code: denied.body.code, error: denied.body.error },
        { code: 40301, error: 'forbidden' },
      );
    }
  });

  test('calls: listed live and paged; ended with reason admin in each dialect', async () => {
    const alice = await srv.connect('alice');
    const bob = await srv.connect('bob', 'video_call');
    const carol = await srv.connect('carol');
    const dave = await srv.connect('dave');
    sockets.push(alice, bob, carol, dave);
    const first = await alice.request('call:invite', { callee: 'bob', media: 'video' });
    const callId = first.data.callId as string;
    await bob.nextVc('call_request');
    const second = await carol.request('call:invite', { callee: 'dave', media: 'audio' });
    await dave.next(of('call:incoming', second.data.callId as string));

    const page1 = await admin(srv, 'GET', '/calls?limit=1');
    assert.equal(page1.calls.length, 1);
    assert.equal(page1.calls[0].callId, callId, 'oldest first');
    assert.equal(page1.calls[0].phase, 'ringing');
    assert.equal(page1.calls[0].caller.userId, 'alice');
    assert.equal(page1.calls[0].callee, 'bob');
    assert.equal(page1.calls[0].node, srv.app.nodeId);
    assert.equal(typeof page1.next, 'string');
    const page2 = await admin(srv, 'GET', `/calls?limit=1&cursor=${page1.next}`);
    assert.deepEqual(
      page2.calls.map((c: Frame) => c.callId),
      [second.data.callId],
    );
    assert.equal(page2.next, null);
    assert.deepEqual(page2.unreachable, [], 'every node answered');

    const ended = await admin(srv, 'POST', `/calls/${callId}/end`);
    assert.deepEqual(ended, { callId, reason: 'admin' });
    const told = await alice.next(of('call:ended', callId));
    assert.equal(told.data.reason, 'admin');
    const vc = await bob.nextVc('call_end');
    assert.equal(vc.data.reason, 'admin', 'video_call: call_end with the reason');
    await alice.next(of('call:record', callId));
    const row = await recordRow(srv, callId);
    assert.equal(row?.end_reason, 'admin');

    const again = await call(
      srv,
      await srv.token('root', { grants: ['admin'] }),
      'POST',
      `/api/admin/calls/${callId}/end`,
    );
    assert.equal(again.status, 404, 'an ended call is not live');
    const bad = await call(
      srv,
      await srv.token('root', { grants: ['admin'] }),
      'GET',
      '/api/admin/calls?limit=1000',
    );
    assert.equal(bad.status, 400, 'the page size is bounded');
    const left = await admin(srv, 'GET', '/calls');
    assert.deepEqual(
      left.calls.map((c: Frame) => c.callId),
      [second.data.callId],
    );
  });

  test('users: online users with their devices; a device disconnected (4012)', async () => {
    const web = await srv.connect('erin', 'native', 'web');
    const ios = await srv.connect('erin', 'native', 'ios');
    sockets.push(web, ios);
    const erin = async () => {
      for (let cursor: string | null = null; ;) {
        const q: string = cursor ? `&cursor=${cursor}` : '';
        const page = await admin(srv, 'GET', `/users?limit=2${q}`);
        const found = page.users.find((u: Frame) => u.userId === 'erin');
        if (found || page.next === null) return found as Frame | undefined;
        cursor = page.next as string;
      }
    };
    const before = await erin();
    assert.ok(before, 'erin is online');
    assert.deepEqual(before.devices.map((d: Frame) => d.clientType).sort(), ['ios', 'web']);
    assert.ok(before.devices.every((d: Frame) => d.node === srv.app.nodeId));

    const ios1 = before.devices.find((d: Frame) => d.clientType === 'ios');
    const r = await admin(srv, 'POST', `/users/erin/devices/${ios1.deviceId}/disconnect`);
    assert.equal(r.disconnected, true);
    const closed = await ios.waitClose();
    assert.equal(closed.code, 4012);
    assert.equal(web.closed, null, 'the other device stays');
    await until('the device left presence', async () => (await erin())?.devices.length === 1);
    const gone = await call(
      srv,
      await srv.token('root', { grants: ['admin'] }),
      'POST',
      `/api/admin/users/erin/devices/${ios1.deviceId}/disconnect`,
    );
    assert.equal(gone.status, 404, 'a device that is not connected');
  });

  test('meetings: listed with participants and media; mute, remove, end', async () => {
    const id = await createMeeting(srv, 'hana');
    await joinMeeting(srv, id, 'hana', 'ivan', 'jo');
    const hanaWs = await meetingWs(srv, 'hana');
    const ivanWs = await meetingWs(srv, 'ivan');
    const joWs = await meetingWs(srv, 'jo');
    sockets.push(hanaWs, ivanWs, joWs);
    const [hana, ivan, jo] = [hanaWs, ivanWs, joWs].map(wsSignaling) as [
      ReturnType<typeof wsSignaling>,
      ReturnType<typeof wsSignaling>,
      ReturnType<typeof wsSignaling>,
    ];
    for (const sig of [hana, ivan, jo]) {
      const j = await sig.request('rtc:join', { meetingId: id });
      assert.equal(j.type, 'rtc:joined', JSON.stringify(j));
    }
    const send = await ivan.request('rtc:createTransport', { meetingId: id, direction: 'send' });
    const transportId = send.data.transportId as string;
    await ivan.request('rtc:connectTransport', {
      meetingId: id,
      transportId,
      dtlsParameters: DTLS,
    });
    const produced = await ivan.request('rtc:produce', {
      meetingId: id,
      transportId,
      kind: 'audio',
      rtpParameters: audioRtp(4242),
    });
    assert.equal(produced.type, 'rtc:produced', JSON.stringify(produced));
    const producerId = produced.data.producerId as string;

    const list = await admin(srv, 'GET', '/meetings?limit=200');
    const listed = list.meetings.find((m: Frame) => m.meetingId === id);
    assert.ok(listed, 'the meeting is listed');
    assert.deepEqual(listed.participants.map((p: Frame) => p.userId).sort(), [
      'hana',
      'ivan',
      'jo',
    ]);
    const view = await admin(srv, 'GET', `/meetings/${id}`);
    const ivanPeer = view.peers.find((p: Frame) => p.userId === 'ivan');
    assert.deepEqual(
      ivanPeer.producers.map((p: Frame) => [p.id, p.paused]),
      [[producerId, false]],
    );

    // Muted without the right to unmute: everyone hears it, the owner cannot resume.
    const muted = await admin(srv, 'POST', `/meetings/${id}/producers/${producerId}/mute`);
    assert.equal(muted.allowUnmute, false);
    for (const sig of [ivan, hana]) {
      const e = await sig.event('rtc:producerPaused');
      assert.equal(e.data.producerId, producerId);
    }
    const refused = await ivan.request('rtc:resumeProducer', { meetingId: id, producerId });
    assert.equal(refused.type, 'rtc:error', JSON.stringify(refused));
    assert.equal(refused.code, 40301);
    assert.equal((await admin(srv, 'GET', `/meetings/${id}`)).peers[1].producers[0].paused, true);
    // Allowed again: the owner resumes.
    await admin(srv, 'POST', `/meetings/${id}/producers/${producerId}/mute`, { allowUnmute: true });
    const resumed = await ivan.request('rtc:resumeProducer', { meetingId: id, producerId });
    assert.equal(resumed.type, 'rtc:producerResumed', JSON.stringify(resumed));
    const unknown = await call(
      srv,
      await srv.token('root', { grants: ['admin'] }),
      'POST',
      `/api/admin/meetings/${id}/producers/00000000-0000-4000-8000-000000000000/mute`,
    );
    assert.equal(unknown.status, 404);

    // Removed: jo's peer leaves; the store says jo left.
    const removed = await admin(srv, 'POST', `/meetings/${id}/participants/jo/remove`);
    assert.equal(typeof removed.leftAt, 'string');
    await jo.event('rtc:left');
    const after = await admin(srv, 'GET', `/meetings/${id}`);
    assert.deepEqual(after.participants.map((p: Frame) => p.userId).sort(), ['hana', 'ivan']);

    // Ended by the admin: the peers hear rtc:meetingEnded; the meeting is no longer listed.
    const ended = await admin(srv, 'POST', `/meetings/${id}/end`);
    assert.equal(ended.endedBy, 'root');
    for (const sig of [hana, ivan]) await sig.event('rtc:meetingEnded');
    const live = await admin(srv, 'GET', '/meetings?limit=200');
    assert.equal(
      live.meetings.some((m: Frame) => m.meetingId === id),
      false,
    );
  });
});
