import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type ClusterServer } from '../cluster-harness.ts';
import { until, TestClient } from '../harness.ts';
import {
  audioRtp,
  createMeeting,
  joinMeeting,
  videoRtp,
  workerBin,
  wsSignaling,
} from '../meeting-kit.ts';
import { ok, publisher } from './span-kit.ts';

/**
 * A meeting spanning two nodes whose second node spreads it over two workers. The copies of the
 * first node's producers land on the second node's first router (the active speaker
 * observer's); when that router's worker dies, the peers on the node's other router lose their
 * consumers of the copies with it. They hear the producers close and come back (as they would
 * were the producers' own router lost and the producers published again), consume them again
 * through a new pipe, and the first node closes the pipes that fed the dead router.
 */

describe('a spanning meeting whose node loses the worker of its first router', () => {
  let srv: ClusterServer;
  const sockets: TestClient[] = [];

  /** A /ws/meeting connection of `user` straight to node `i`. */
  const on = async (i: number, user: string) => {
    const token = await srv.token(user, { name: user });
    const c = await TestClient.open(`ws://${srv.hosts[i]}/ws/meeting?token=${token}`);
    sockets.push(c);
    return { c, sig: wsSignaling(c) };
  };

  before(async () => {
    // A budget of one consumer per worker: node 1's second peer goes to its other worker.
    srv = await startCluster(
      {
        limits: { rateBurst: 1000 },
        sfu: {
          workers: 2,
          consumersPerWorker: 1,
          workerBin: workerBin(),
          emptyRoomGraceMs: 60_000,
        },
        cluster: { meetingsSpan: true },
      },
      2,
    );
  });
  after(async () => {
    for (const c of sockets) c.close();
    await srv?.close();
  });

  test("its other router's peers hear the producers close and come back, and consume them again", async () => {
    const id = await createMeeting(srv, 'anna');
    await joinMeeting(srv, id, 'anna', 'ben', 'cara');
    const [a0, a1] = srv.apps as [ClusterServer['app'], ClusterServer['app']];

    // Anna publishes on node 0.
    const anna = await on(0, 'anna');
    const { caps, peerId: annaPeer, send, produce } = await publisher(anna.sig, id);
    const audio = await produce('audio', audioRtp(2002));
    const video = await produce('video', videoRtp());

    /** Joins `user` on node 1 with a recv transport and consumes `producers` there. */
    const consumer = async (user: string, producers: string[]) => {
      const p = await on(1, user);
      const peerId = (await ok(p.sig, 'rtc:join', { meetingId: id }, 'rtc:joined')).peerId;
      const recv = (
        await ok(
          p.sig,
          'rtc:createTransport',
          { meetingId: id, direction: 'recv' },
          'rtc:transportCreated',
        )
      ).transportId as string;
      const consume = (producerId: string) =>
        ok(
          p.sig,
          'rtc:consume',
          { meetingId: id, producerId, rtpCapabilities: caps, transportId: recv },
          'rtc:consumed',
        );
      for (const producerId of producers) await consume(producerId);
      return { ...p, peerId: peerId as string, consume };
    };
    // Ben fills node 1's first worker; Cara goes to its second, and consumes Anna's video there
    // (piped from the copy on the first router).
    const ben = await consumer('ben', [video, audio]);
    const cara = await consumer('cara', [video]);
    const layout = () => a1.rtc.layout(id)!;
    assert.equal(layout().routers.length, 2, 'node 1 spread the meeting over two workers');
    const [first, second] = layout().routers as [
      { routerId: string; workerPid: number; peers: string[] },
      { routerId: string; workerPid: number; peers: string[] },
    ];
    assert.deepEqual([first.peers, second.peers], [[ben.peerId], [cara.peerId]]);
    assert.equal(layout().speakerRouterId, first.routerId, 'the copies are on the first router');
    assert.notEqual(first.workerPid, second.workerPid);

    // Node 0 feeds node 1 through a pipe per producer.
    const transportsOf0 = async (): Promise<string[]> =>
      (await a0.rtc.router(id)!.dump()).transportIds as string[];
    const before0 = await transportsOf0();
    assert.equal(before0.length, 3, "Anna's send transport and a pipe per producer");
    const pipesBefore = before0.filter((t) => t !== send);

    // The worker of node 1's first router dies.
    process.kill(first.workerPid, 'SIGKILL');
    await ben.sig.event('rtc:mediaReset', 20_000);

    // Cara, on the other router, lost her consumer of the copy: she hears Anna's producers
    // close and come back, as within a node.
    const heard = (type: string, producerId: string) =>
      cara.c.next((f) => f.type === type && f.data?.producerId === producerId, 20_000);
    for (const producerId of [video, audio]) {
      const closed = await heard('rtc:producerClosed', producerId);
      assert.deepEqual(closed.data, { meetingId: id, producerId, peerId: annaPeer });
      const back = await heard('rtc:newProducer', producerId);
      assert.equal(back.data.peerId, annaPeer);
      assert.equal(back.data.kind, producerId === video ? 'video' : 'audio');
      assert.deepEqual(back.data.appData, { kind: back.data.kind });
    }
    await until('the observer moved', () => layout().speakerRouterId === second.routerId);

    // She consumes the video again: piped anew to the node's live router.
    const again = await cara.consume(video);
    assert.equal(again.producerId, video);
    assert.equal(again.kind, 'video');

    // Node 0 closed the pipes that fed the dead router, and opened new ones: the video for
    // Cara, and the microphone for the observer in its new home.
    await until("node 0's pipes to the dead router close, and new ones open", async () => {
      const now = await transportsOf0();
      return now.length === 3 && pipesBefore.every((t) => !now.includes(t));
    });
  });
});
