import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { types } from 'mediasoup';
import { REDIS_URL, startCluster, type ClusterServer } from '../cluster-harness.ts';
import { until, TestClient, type Frame } from '../harness.ts';
import {
  audioRtp,
  createMeeting,
  joinMeeting,
  videoRtp,
  workerBin,
  wsSignaling,
  type Signaling,
} from '../meeting-kit.ts';
import { ok, publisher } from './span-kit.ts';

/**
 * A meeting spanning two nodes (`cluster.meetingsSpan`), signaling from Node: each peer is
 * served on the node it connected to, learns of the other node's peers and producers, and
 * consumes them through a pipe between the nodes (one per producer and node, gone with its last
 * consumer), data channels alike; a node taken for dead leaves the meeting's node set. Media
 * itself is exercised by meetings-span-browser.test.ts.
 */

const SCTP = { numStreams: { OS: 1024, MIS: 1024 } };

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
    const { caps, peerId: annaPeer, produce } = await publisher(anna, id);
    const audio = await produce('audio', audioRtp(1001));
    const video = await produce('video', videoRtp());

    // Node 0's ends of the pipes to node 1 (on Anna's router), to see when each connects.
    const ends = new Map<string, types.PipeTransport>();
    a0.rtc.router(id)!.observer.on('newtransport', (t) => {
      if (t.appData.pipe === 'node') ends.set(t.id, t as types.PipeTransport);
    });
    const connected = async () => {
      const dumps = await Promise.all([...ends.values()].map((t) => t.dump()));
      return dumps.filter((d) => d.tuple.remotePort !== undefined).length;
    };

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
    // The audio's pipe flows at once (node 1's active speaker observer hears it); the video's
    // only once Ben's consumer forwards (resumed, its transport's DTLS up: here it never is), so
    // that the key frame its connecting asks for reaches him (MeetingSpan.start;
    // meetings-span-browser.test.ts shows the video then crossing).
    await until("node 0's ends of both pipes", () => ends.size === 2);
    assert.equal(await connected(), 1, 'only the audio pipe sends before the consumer forwards');

    const routerOf = (app: ClusterServer['app']) => app.rtc.router(id)!;
    const transports = async (app: ClusterServer['app']) =>
      (await routerOf(app).dump()).transportIds.length;
    // Node 1: Ben's recv transport and one pipe per producer (each once, however many
    // consumers: the audio one also feeds node 1's active speaker observer); node 0: Anna's
    // send transport and the two pipes' other ends.
    await until('node 1: a pipe per producer', async () => (await transports(a1)) === 3);
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
    await until('node 1 closes the audio pipe', async () => (await transports(a1)) === 2);
    await until('node 0 closes the audio pipe', async () => (await transports(a0)) === 2);

    // Ben, the video's last consumer on node 1, leaves: its pipe closes on both nodes, while
    // the producer lives on; Anna and Cara hear that he left.
    await ok(ben, 'rtc:leave', { meetingId: id }, 'rtc:left');
    await until('node 1 closes the video pipe', async () => (await transports(a1)) === 0);
    await until('node 0 closes the video pipe', async () => (await transports(a0)) === 1);
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

  test('a data channel crosses the nodes: announced, piped once per node, unpiped with its last consumer', async () => {
    const id = await createMeeting(srv, 'dora');
    await joinMeeting(srv, id, 'dora', 'eli', 'fay');
    const [a0, a1] = srv.apps as [ClusterServer['app'], ClusterServer['app']];
    const dump = (app: ClusterServer['app']) => app.rtc.router(id)!.dump();

    const dora = await on(0, 'dora');
    const doraPeer = (await ok(dora, 'rtc:join', { meetingId: id }, 'rtc:joined')).peerId;
    const send = await ok(
      dora,
      'rtc:createTransport',
      { meetingId: id, direction: 'send', sctpCapabilities: SCTP },
      'rtc:transportCreated',
    );
    // Eli (node 1) is there before the channel opens: he hears of it through node 0.
    const eli = await on(1, 'eli');
    await ok(eli, 'rtc:join', { meetingId: id }, 'rtc:joined');
    await dora.event('rtc:peerJoined', 10_000);
    const chat = (
      await ok(
        dora,
        'rtc:produceData',
        {
          meetingId: id,
          transportId: send.transportId,
          sctpStreamParameters: { streamId: 0, ordered: true },
          label: 'chat',
          protocol: 'json',
          appData: { topic: 'notes' },
        },
        'rtc:dataProduced',
      )
    ).dataProducerId as string;
    const heard = await eli.event('rtc:newDataProducer', 10_000);
    assert.deepEqual(heard.data, {
      meetingId: id,
      dataProducerId: chat,
      peerId: doraPeer,
      label: 'chat',
      protocol: 'json',
      appData: { topic: 'notes' },
    });

    // Fay (node 1) joins after: rtc:joined lists the channel among Dora's (and Eli, here).
    const fay = await on(1, 'fay');
    const fayJoined = await ok(fay, 'rtc:join', { meetingId: id }, 'rtc:joined');
    const doraSeen = fayJoined.peers.find((p: Frame) => p.peerId === doraPeer);
    assert.deepEqual(
      doraSeen?.dataProducers.map((d: Frame) => [d.id, d.label]),
      [[chat, 'chat']],
    );

    // Both consume it: one pipe (with SCTP) carries it to node 1 for the two.
    for (const sig of [eli, fay]) {
      const recv = await ok(
        sig,
        'rtc:createTransport',
        { meetingId: id, direction: 'recv', sctpCapabilities: SCTP },
        'rtc:transportCreated',
      );
      const d = await ok(
        sig,
        'rtc:consumeData',
        { meetingId: id, dataProducerId: chat, transportId: recv.transportId },
        'rtc:dataConsumed',
      );
      assert.equal(d.dataProducerId, chat);
      assert.equal(d.label, 'chat');
      assert.deepEqual(d.appData, { topic: 'notes' });
    }
    const dataConsumers = async (app: ClusterServer['app']) =>
      dataConsumersOf(await dump(app), chat);
    // Node 1: two receive transports and the pipe; its copy of the channel feeds both.
    assert.equal((await dump(a1)).transportIds.length, 3);
    assert.equal(await dataConsumers(a1), 2);
    // Node 0: Dora's send transport and the pipe's other end, one data consumer (the pipe's).
    assert.equal((await dump(a0)).transportIds.length, 2);
    assert.equal(await dataConsumers(a0), 1);

    // Eli leaves: Fay still needs the pipe. Fay leaves: the pipe closes on both nodes.
    await ok(eli, 'rtc:leave', { meetingId: id }, 'rtc:left');
    await until("Eli's data consumer closes", async () => (await dataConsumers(a1)) === 1);
    assert.equal((await dump(a0)).transportIds.length, 2, 'the pipe stays for Fay');
    await ok(fay, 'rtc:leave', { meetingId: id }, 'rtc:left');
    await until('node 1 unpipes', async () => (await dump(a1)).transportIds.length === 0);
    await until('node 0 unpipes', async () => (await dump(a0)).transportIds.length === 1);
    assert.equal(await dataConsumers(a0), 0);
  });

  test('a native /ws session resumed on the other node keeps its peer where it is: its rtc:* and events reach it, its end ends it', async () => {
    const id = await createMeeting(srv, 'hana');
    await joinMeeting(srv, id, 'hana', 'ivan');
    const [a0, a1] = srv.apps as [ClusterServer['app'], ClusterServer['app']];
    /** A resumable native connection of hana's to node `i`; `query` resumes. */
    const hanaOn = async (i: number, query: string) => {
      const token = await srv.token('hana', { name: 'hana' });
      const c = await TestClient.open(`ws://${srv.hosts[i]}/ws?token=${token}&${query}`);
      sockets.push(c);
      return { c, ready: (await c.nextType('session:ready')).data as Frame };
    };
    const native = async (c: TestClient, type: string, data: unknown) => {
      const r = await c.request(type, data);
      assert.equal(r.type, 'ok', `${type} → ${JSON.stringify(r)}`);
      return r.data as Frame;
    };
    const peersOn = (app: ClusterServer['app']) =>
      (app.rtc.layout(id)?.routers ?? []).flatMap((r) => r.peers);

    // Hana joins on node 0 over the native endpoint, with a receive transport.
    const first = await hanaOn(0, 'resumable=1');
    const caps = (await native(first.c, 'rtc:getRouterRtpCapabilities', { meetingId: id }))
      .rtpCapabilities as Frame;
    const hanaPeer = (await native(first.c, 'rtc:join', { meetingId: id })).peerId as string;
    const recv = (
      await native(first.c, 'rtc:createTransport', { meetingId: id, direction: 'recv' })
    ).transportId as string;
    // Her socket drops; she resumes through node 1.
    first.c.ws.terminate();
    await first.c.waitClose();
    const again = await hanaOn(1, `resume=${first.ready.resumeToken as string}`);
    assert.equal(again.ready.resumed, true);
    assert.equal(again.ready.deviceId, first.ready.deviceId);

    // Ivan (node 1) publishes: hana hears of it on node 1, and consumes it on her node-0 peer.
    const ivan = await on(1, 'ivan');
    const { produce } = await publisher(ivan, id);
    const audio = await produce('audio', audioRtp(2002));
    const heard = await again.c.nextType('rtc:newProducer', 10_000);
    assert.deepEqual([heard.data.producerId, heard.data.meetingId], [audio, id]);
    const consumed = await native(again.c, 'rtc:consume', {
      meetingId: id,
      transportId: recv,
      producerId: audio,
      rtpCapabilities: caps,
    });
    assert.equal(consumed.producerId, audio);
    assert.deepEqual(peersOn(a0), [hanaPeer], 'her peer stays on node 0');
    assert.ok(!peersOn(a1).includes(hanaPeer));

    // She leaves for good from node 1: her peer on node 0 goes, and ivan hears it.
    again.c.close();
    const left = await ivan.event('rtc:peerLeft', 10_000);
    assert.equal(left.data.peerId, hanaPeer);
    await until('node 0 drops her peer', () => peersOn(a0).length === 0);
    await ok(ivan, 'rtc:leave', { meetingId: id }, 'rtc:left');
  });

  test('a node taken for dead leaves the node set of every meeting it served', async () => {
    const id = await createMeeting(srv, 'gus');
    await joinMeeting(srv, id, 'gus');
    const gus = await on(1, 'gus');
    await ok(gus, 'rtc:join', { meetingId: id }, 'rtc:joined');
    const redis = new Redis(REDIS_URL);
    try {
      const nodesKey = `${srv.prefix}:meeting-nodes:${id}`;
      const live = await redis.smembers(nodesKey);
      assert.equal(live.length, 1, 'node 1 serves the meeting');
      // A node that served this meeting and another, then died: registered, but with no
      // liveness key, so the janitor of a live node takes it for dead.
      const ghost = `ghost-${Date.now()}`;
      const other = `${srv.prefix}:meeting-nodes:elsewhere-${ghost}`;
      await redis
        .multi()
        .sadd(nodesKey, ghost)
        .sadd(other, ghost, 'some-live-node')
        .sadd(`${srv.prefix}:node-meetings:${ghost}`, id, `elsewhere-${ghost}`)
        .sadd(`${srv.prefix}:nodes`, ghost)
        .exec();
      await until(
        'the janitor takes the dead node out of the meeting',
        async () => !(await redis.sismember(nodesKey, ghost)),
        30_000,
      );
      assert.deepEqual(await redis.smembers(nodesKey), live, 'the live node stays');
      assert.deepEqual(await redis.smembers(other), ['some-live-node'], 'and out of the other');
      assert.equal(await redis.exists(`${srv.prefix}:node-meetings:${ghost}`), 0);
      await redis.del(other);
    } finally {
      redis.disconnect();
    }
    await ok(gus, 'rtc:leave', { meetingId: id }, 'rtc:left');
  });
});

/** A router's dump, as far as these tests read it. */
interface RouterDump {
  transportIds: string[];
  mapDataProducerIdDataConsumerIds: Record<string, string[]>;
}

/** How many data consumers a router's dump lists for a data producer (or its copy). */
function dataConsumersOf(dump: RouterDump, dataProducerId: string): number {
  return dump.mapDataProducerIdDataConsumerIds[dataProducerId]?.length ?? 0;
}
