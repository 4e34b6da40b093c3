import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { admin } from '../admin-kit.ts';
import { startCluster, type ClusterServer } from '../cluster-harness.ts';
import { until, TestClient, type Frame, type TestServer } from '../harness.ts';
import {
  DTLS,
  audioRtp,
  createMeeting,
  joinMeeting,
  workerBin,
  wsSignaling,
  type Signaling,
} from '../meeting-kit.ts';
import { WebhookReceiver } from '../webhook-receiver.ts';
import { ok } from './span-kit.ts';

/**
 * A meeting spanning two nodes (`cluster.meetingsSpan`) is still one meeting: the admin API of either
 * node shows and mutes the peers of both, a user's devices on both nodes count against one cap
 * and make one stay, the end reaches every node at once, and the store and the webhooks hold
 * one meeting, each of its events once.
 */

/** A connected send transport of the peer; its id. */
async function sendTransport(sig: Signaling, meetingId: string): Promise<string> {
  const t = await ok(
    sig,
    'rtc:createTransport',
    { meetingId, direction: 'send' },
    'rtc:transportCreated',
  );
  await ok(
    sig,
    'rtc:connectTransport',
    { meetingId, transportId: t.transportId, dtlsParameters: DTLS },
    'rtc:transportConnected',
  );
  return t.transportId as string;
}

describe('a meeting spanning two nodes is one meeting', () => {
  let srv: ClusterServer;
  let receiver: WebhookReceiver;
  const sockets: TestClient[] = [];

  /** A /ws/meeting connection of `user` straight to node `i` (not through nginx). */
  const open = async (i: number, user: string): Promise<TestClient> => {
    const token = await srv.token(user, { name: user });
    const c = await TestClient.open(`ws://${srv.hosts[i]}/ws/meeting?token=${token}`);
    sockets.push(c);
    return c;
  };
  const on = async (i: number, user: string): Promise<Signaling> =>
    wsSignaling(await open(i, user));

  before(async () => {
    receiver = await WebhookReceiver.start(`whsec_${randomBytes(24).toString('base64')}`);
    srv = await startCluster(
      {
        limits: { rateBurst: 1000 },
        sfu: { workers: 1, workerBin: workerBin(), emptyRoomGraceMs: 60_000 },
        webhooks: { url: receiver.url, secret: receiver.secret, pollMs: 50 },
        caps: { peersPerUserPerMeeting: 2 },
        cluster: { meetingsSpan: true },
      },
      2,
    );
  });
  after(async () => {
    for (const c of sockets) c.close();
    await srv?.close();
    await receiver?.down();
  });

  test('one meeting cluster-wide: admin view and mute, a user on both nodes, webhooks and records once', async () => {
    const id = await createMeeting(srv, 'dora');
    await joinMeeting(srv, id, 'dora', 'eli', 'fay');
    const [a0, a1] = srv.apps as [ClusterServer['app'], ClusterServer['app']];
    /** The admin API of node `i` only (not through nginx). */
    const nodeApi = (i: number): TestServer => ({ ...srv, httpBase: `http://${srv.hosts[i]}` });

    // Dora on both nodes (phone on 0, laptop on 1), Eli on 1, Fay on 0; the phone and Fay
    // publish audio. At most two devices of a user may join (caps.peersPerUserPerMeeting).
    const phoneWs = await open(0, 'dora');
    const laptopWs = await open(1, 'dora');
    const [phone, laptop] = [wsSignaling(phoneWs), wsSignaling(laptopWs)];
    const eli = await on(1, 'eli');
    const fay = await on(0, 'fay');
    const peer: Record<string, string> = {};
    for (const [name, sig] of Object.entries({ phone, laptop, eli, fay })) {
      peer[name] = (await ok(sig, 'rtc:join', { meetingId: id }, 'rtc:joined')).peerId as string;
    }
    const publish = async (sig: Signaling, ssrc: number) => {
      const transportId = await sendTransport(sig, id);
      const p = await ok(
        sig,
        'rtc:produce',
        { meetingId: id, transportId, kind: 'audio', rtpParameters: audioRtp(ssrc) },
        'rtc:produced',
      );
      return p.producerId as string;
    };
    // Two devices of Dora's are in, one on each node: a third is over the meeting's cap.
    const third = await on(0, 'dora');
    const refusedJoin = await third.request('rtc:join', { meetingId: id });
    assert.equal(refusedJoin.code, 42902, JSON.stringify(refusedJoin));
    third.close();
    const phoneAudio = await publish(phone, 7001);
    const fayAudio = await publish(fay, 7002);
    for (const p of [phoneAudio, fayAudio]) {
      await until(
        'node 1 knows the producers of node 0',
        () => a1.rtc.span?.peerOf(id, p) !== undefined,
      );
    }

    // The admin API of either node shows every node's peers.
    for (const i of [0, 1]) {
      const view = await admin(nodeApi(i), 'GET', `/meetings/${id}`);
      assert.deepEqual(
        view.peers.map((p: Frame) => p.peerId).sort(),
        Object.values(peer).sort(),
        `node ${i} lists the peers of both nodes`,
      );
    }
    // Node 1 mutes the phone's audio, which node 0 carries: everyone hears it, on both nodes,
    // and the phone may not resume it.
    const muted = await admin(nodeApi(1), 'POST', `/meetings/${id}/producers/${phoneAudio}/mute`);
    assert.deepEqual([muted.producerId, muted.peerId], [phoneAudio, peer.phone]);
    for (const sig of [phone, laptop, eli, fay]) {
      assert.equal((await sig.event('rtc:producerPaused', 10_000)).data.producerId, phoneAudio);
    }
    const refused = await phone.request('rtc:resumeProducer', {
      meetingId: id,
      producerId: phoneAudio,
    });
    assert.equal(refused.code, 40301, JSON.stringify(refused));

    // The phone drops: Dora is still in the meeting on her laptop (the other node).
    const stay = async () =>
      (
        await srv.app.db.kysely
          .selectFrom('meeting_participants')
          .select('left_at')
          .where('meeting_id', '=', id)
          .where('user_id', '=', 'dora')
          .execute()
      ).map((r) => r.left_at);
    phoneWs.close();
    assert.equal((await eli.event('rtc:producerClosed', 10_000)).data.producerId, phoneAudio);
    for (const sig of [eli, laptop, fay]) {
      assert.equal((await sig.event('rtc:peerLeft', 10_000)).data.peerId, peer.phone);
    }
    assert.deepEqual(await stay(), [null], 'Dora stays while her laptop is in the meeting');
    // The laptop drops too: her stay ends, once.
    laptopWs.close();
    for (const sig of [eli, fay]) {
      assert.equal((await sig.event('rtc:peerLeft', 10_000)).data.peerId, peer.laptop);
    }
    await until('left_at once Dora is gone', async () => (await stay())[0] !== null);

    // The host's end (through node 0): Eli on node 1 hears rtc:meetingEnded, not that Fay's
    // producer closed and she left first; both nodes close the meeting's media.
    const end = await fetch(`http://${srv.hosts[0]}/api/meetings/${id}/end`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await srv.token('dora', { name: 'dora' })}` },
    });
    assert.equal(end.status, 200);
    for (const sig of [eli, fay]) await sig.event('rtc:meetingEnded', 10_000);
    await assert.rejects(eli.event('rtc:producerClosed', 1000), /no matching frame/);
    await until('media closed on both nodes', () => !a0.rtc.has(id) && !a1.rtc.has(id));

    // One meeting record, and its webhooks once each, whichever node served whom.
    const rows = await srv.app.db.kysely
      .selectFrom('meetings')
      .select('status')
      .where('meeting_id', '=', id)
      .execute();
    assert.deepEqual(rows, [{ status: 'ended' }]);
    const events = () =>
      WebhookReceiver.distinct(receiver.of('meetingId', id))
        .map((d) => `${d.event.type}:${d.event.data.userId ?? ''}`)
        .sort();
    await until('the meeting.ended webhook', () => events().includes('meeting.ended:'));
    assert.deepEqual(events(), [
      'meeting.ended:',
      'meeting.started:',
      'participant.joined:dora',
      'participant.joined:eli',
      'participant.joined:fay',
      'participant.left:dora',
      'participant.left:eli',
      'participant.left:fay',
    ]);
  });
});
