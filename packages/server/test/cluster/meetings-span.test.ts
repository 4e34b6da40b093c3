import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type ClusterServer } from '../cluster-harness.ts';
import { TestClient, type Frame } from '../harness.ts';
import {
  DTLS,
  audioRtp,
  createMeeting,
  joinMeeting,
  videoRtp,
  workerBin,
  wsSignaling,
  type Signaling,
} from '../meeting-kit.ts';

/**
 * A meeting spanning two nodes (`cluster.meetingsSpan`), signaling from Node: each peer is
 * served on the node it connected to, learns of the other node's peers and producers, and
 * consumes them through a pipe between the nodes (one per producer and node, gone with its last
 * consumer). Media itself is exercised by meetings-span-browser.test.ts.
 */

async function ok(sig: Signaling, type: string, data: unknown, want: string) {
  const r = await sig.request(type, data);
  assert.equal(r.type, want, `${type} → ${JSON.stringify(r)}`);
  return r.data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('a meeting spanning two nodes (signaling)', () => {
  let srv: ClusterServer;
  const sockets: TestClient[] = [];

  /** A /ws/meeting connection of `user` straight to node `i` (not through nginx). */
  const on = async (i: number, user: string): Promise<Signaling> => {
    const token = await srv.token(user, { name: user });
    const c = await TestClient.open(`ws://${srv.hosts[i]}/ws/meeting?token=${token}`);
    sockets.push(c);
    return wsSignaling(c);
  };

  before(async () => {
    srv = await startCluster(
      {
        limits: { rateBurst: 1000 },
        sfu: { workers: 1, workerBin: workerBin(), emptyRoomGraceMs: 60_000 },
        cluster: { meetingsSpan: true },
      },
      2,
    );
  });
  after(async () => {
    for (const c of sockets) c.close();
    await srv?.close();
  });

  test('peers on two nodes see each other, consume across, and hear closes', async () => {
    const id = await createMeeting(srv, 'anna');
    await joinMeeting(srv, id, 'anna', 'ben', 'cara');
    const [a0, a1] = srv.apps as [ClusterServer['app'], ClusterServer['app']];

    // Anna on node 0 publishes audio and video.
    const anna = await on(0, 'anna');
    const caps = (
      await ok(anna, 'rtc:getRouterRtpCapabilities', { meetingId: id }, 'rtc:routerRtpCapabilities')
    ).rtpCapabilities;
    const annaPeer = (await ok(anna, 'rtc:join', { meetingId: id }, 'rtc:joined')).peerId;
    const send = await ok(
      anna,
      'rtc:createTransport',
      { meetingId: id, direction: 'send' },
      'rtc:transportCreated',
    );
    await ok(
      anna,
      'rtc:connectTransport',
      { meetingId: id, transportId: send.transportId, dtlsParameters: DTLS },
      'rtc:transportConnected',
    );
    const produce = async (kind: string, rtpParameters: Frame) =>
      (
        await ok(
          anna,
          'rtc:produce',
          { meetingId: id, transportId: send.transportId, kind, rtpParameters, appData: { kind } },
          'rtc:produced',
        )
      ).producerId as string;
    const audio = await produce('audio', audioRtp(1001));
    const video = await produce('video', videoRtp());

    // Ben joins on node 1: rtc:joined lists Anna and her producers; Anna hears of Ben.
    const ben = await on(1, 'ben');
    const joined = await ok(ben, 'rtc:join', { meetingId: id }, 'rtc:joined');
    assert.deepEqual(
      joined.peers.map((p: Frame) => [p.peerId, p.producers.map((x: Frame) => x.id).sort()]),
      [[annaPeer, [audio, video].sort()]],
      "Ben sees Anna's producers on the other node",
    );
    const benJoined = await anna.event('rtc:peerJoined', 10_000);
    assert.equal(benJoined.data.peerId, joined.peerId);
    assert.ok(a1.rtc.has(id) && a0.rtc.has(id), 'each node serves its own peer');

    // Ben consumes both across the nodes: each producer is piped to node 1 once.
    await ok(
      ben,
      'rtc:createTransport',
      { meetingId: id, direction: 'recv' },
      'rtc:transportCreated',
    );
    const consume = (producerId: string) =>
      ok(ben, 'rtc:consume', { meetingId: id, producerId, rtpCapabilities: caps }, 'rtc:consumed');
    const cv = await consume(video);
    assert.equal(cv.kind, 'video');
    assert.equal(cv.type, 'simulcast');
    assert.deepEqual(cv.appData, { kind: 'video' });
    const ca = await consume(audio);
    assert.equal(ca.kind, 'audio');

    const routerOf = (app: ClusterServer['app']) => app.rtc.router(id)!;
    const transports = async (app: ClusterServer['app']) =>
      (await routerOf(app).dump()).transportIds.length;
    // Node 1: Ben's recv transport and one pipe per producer (each once, however many
    // consumers: the audio one also feeds node 1's active speaker observer); node 0: Anna's
    // send transport and the two pipes' other ends.
    await waitFor(async () => (await transports(a1)) === 3, 'node 1: a pipe per producer');
    assert.equal(await transports(a0), 3);

    // Cara joins on node 1 too (she stays, consuming nothing).
    const cara = await on(1, 'cara');
    await ok(cara, 'rtc:join', { meetingId: id }, 'rtc:joined');

    // Anna mutes her video: Ben hears it, through the other node.
    await ok(anna, 'rtc:pauseProducer', { meetingId: id, producerId: video }, 'rtc:producerPaused');
    const paused = await ben.event('rtc:producerPaused', 10_000);
    assert.equal(paused.data.producerId, video);

    // Anna closes her audio: Ben hears rtc:producerClosed, and its pipe closes on both nodes.
    await ok(anna, 'rtc:closeProducer', { meetingId: id, producerId: audio }, 'rtc:producerClosed');
    const closed = await ben.event('rtc:producerClosed', 10_000);
    assert.deepEqual(closed.data, { meetingId: id, producerId: audio, peerId: annaPeer });
    await waitFor(async () => (await transports(a1)) === 2, 'node 1 closes the audio pipe');
    await waitFor(async () => (await transports(a0)) === 2, 'node 0 closes the audio pipe');

    // Ben, the video's last consumer on node 1, leaves: its pipe closes on both nodes, while
    // the producer lives on; Anna and Cara hear that he left.
    await ok(ben, 'rtc:leave', { meetingId: id }, 'rtc:left');
    await waitFor(async () => (await transports(a1)) === 0, 'node 1 closes the video pipe');
    await waitFor(async () => (await transports(a0)) === 1, 'node 0 closes the video pipe');
    for (const sig of [anna, cara]) {
      assert.equal((await sig.event('rtc:peerLeft', 10_000)).data.peerId, joined.peerId);
    }

    // The host ends the meeting through REST: the peers of both nodes hear it.
    const end = await fetch(`${srv.httpBase}/api/meetings/${id}/end`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await srv.token('anna', { name: 'anna' })}` },
    });
    assert.equal(end.status, 200);
    for (const sig of [anna, cara]) await sig.event('rtc:meetingEnded', 10_000);
  });
});

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
