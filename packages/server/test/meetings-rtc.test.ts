import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { until, type Frame, type TestClient, type TestServer } from './harness.ts';
import {
  DTLS,
  SioClient,
  audioRtp,
  createMeeting,
  joinMeeting,
  meetingWs,
  rest,
  startMeetingServer,
  videoRtp,
  wsSignaling,
  type Signaling,
} from './meeting-kit.ts';

/**
 * rtc:* signaling on the real SFU, from Node: every request and broadcast of the spec, the
 * extensions, every error code, and the lifecycle (disconnects, REST leave and end, the empty
 * room grace, a worker dying). Media itself is exercised by meetings-browser.test.ts.
 */

const MISSING = '00000000-0000-4000-8000-000000000000';

/** A peer that joined: its signaling and what it learned. */
interface Joined {
  sig: Signaling;
  peerId: string;
  caps: Record<string, unknown>;
}

async function ok(sig: Signaling, type: string, data: unknown, want: string) {
  const r = await sig.request(type, data);
  assert.equal(r.type, want, `${type} → ${JSON.stringify(r)}`);
  return r.data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function fails(sig: Signaling, type: string, data: unknown, code: number) {
  const r = await sig.request(type, data);
  assert.equal(r.type, 'rtc:error', `${type} ${JSON.stringify(data)} → ${JSON.stringify(r)}`);
  assert.equal(r.code, code, `${type} ${JSON.stringify(data)} → ${JSON.stringify(r)}`);
  assert.equal(typeof r.error, 'string');
  return r;
}

async function join(sig: Signaling, meetingId: string): Promise<Joined> {
  const caps = await ok(
    sig,
    'rtc:getRouterRtpCapabilities',
    { meetingId },
    'rtc:routerRtpCapabilities',
  );
  const j = await ok(sig, 'rtc:join', { meetingId }, 'rtc:joined');
  return { sig, peerId: j.peerId as string, caps: caps.rtpCapabilities as Record<string, unknown> };
}

describe('meeting signaling on the SFU (raw WebSocket /ws/meeting)', () => {
  let srv: TestServer;
  const sockets: TestClient[] = [];
  const ws = async (user: string, path?: string) => {
    const c = await meetingWs(srv, user, path);
    sockets.push(c);
    return wsSignaling(c);
  };

  before(async () => {
    // The rate limit has its own test (socket.io, shared with WebSocket); here it stays out.
    srv = await startMeetingServer({ limits: { rateBurst: 1000 } });
  });
  after(async () => {
    for (const c of sockets) c.close();
    await srv.close();
  });

  test('the spec flow: join, transports, produce, newProducer, consume, resume, leave', async () => {
    const id = await createMeeting(srv, 'anna');
    await joinMeeting(srv, id, 'anna', 'ben');
    const anna = await join(await ws('anna'), id);
    assert.equal((anna.caps.codecs as unknown[]).length >= 2, true, 'router codecs');

    const send = await ok(
      anna.sig,
      'rtc:createTransport',
      { meetingId: id, direction: 'send' },
      'rtc:transportCreated',
    );
    assert.ok(
      send.transportId &&
        send.iceParameters.usernameFragment &&
        send.dtlsParameters.fingerprints.length,
    );
    assert.ok(send.iceCandidates.length >= 1 && send.iceCandidates[0].ip === '127.0.0.1');
    assert.equal(send.sctpParameters, undefined, 'no SCTP unless asked');
    const connected = await ok(
      anna.sig,
      'rtc:connectTransport',
      { meetingId: id, transportId: send.transportId, dtlsParameters: DTLS },
      'rtc:transportConnected',
    );
    assert.deepEqual(connected, { transportId: send.transportId });
    const audio = await ok(
      anna.sig,
      'rtc:produce',
      {
        meetingId: id,
        transportId: send.transportId,
        kind: 'audio',
        rtpParameters: audioRtp(1001),
        appData: { source: 'mic' },
      },
      'rtc:produced',
    );
    const video = await ok(
      anna.sig,
      'rtc:produce',
      {
        meetingId: id,
        transportId: send.transportId,
        kind: 'video',
        rtpParameters: videoRtp(),
        appData: { source: 'camera' },
      },
      'rtc:produced',
    );

    // Ben joins: he sees Anna and her producers; Anna hears rtc:peerJoined.
    const benSig = await ws('ben');
    const ben = await join(benSig, id);
    const joined = await anna.sig.event('rtc:peerJoined');
    assert.deepEqual(joined.data, {
      meetingId: id,
      peerId: ben.peerId,
      userId: 'ben',
      nickname: 'ben',
    });
    const benView = await benSig.request('rtc:join', { meetingId: id });
    assert.equal(benView.code, 40902, 'a connection joins once');

    const recv = await ok(
      ben.sig,
      'rtc:createTransport',
      { meetingId: id, direction: 'recv' },
      'rtc:transportCreated',
    );
    const consumed = await ok(
      ben.sig,
      'rtc:consume',
      { meetingId: id, producerId: video.producerId, rtpCapabilities: ben.caps },
      'rtc:consumed',
    );
    assert.equal(consumed.producerId, video.producerId);
    assert.equal(consumed.id, consumed.consumerId, 'id: mediasoup-client takes the data as is');
    assert.equal(consumed.kind, 'video');
    assert.equal(consumed.type, 'simulcast');
    assert.equal(consumed.producerPaused, false);
    assert.deepEqual(consumed.appData, { source: 'camera' });
    assert.equal(consumed.rtpParameters.encodings.length, 1);
    assert.ok(consumed.rtpParameters.encodings[0].ssrc);
    const stats = await ok(
      ben.sig,
      'rtc:getConsumerStats',
      { meetingId: id, consumerId: consumed.consumerId },
      'rtc:consumerStats',
    );
    assert.ok(Array.isArray(stats.stats));
    assert.deepEqual(
      await ok(
        ben.sig,
        'rtc:resumeConsumer',
        { meetingId: id, consumerId: consumed.consumerId },
        'rtc:consumerResumed',
      ),
      { consumerId: consumed.consumerId },
    );
    await ok(
      ben.sig,
      'rtc:consume',
      {
        meetingId: id,
        producerId: audio.producerId,
        rtpCapabilities: ben.caps,
        transportId: recv.transportId,
      },
      'rtc:consumed',
    );

    // Cara joins late: rtc:joined lists both peers and Anna's producers.
    await joinMeeting(srv, id, 'cara');
    const cara = await ws('cara');
    const caraJoin = await ok(cara, 'rtc:join', { meetingId: id }, 'rtc:joined');
    const annaInfo = caraJoin.peers.find((p: { peerId: string }) => p.peerId === anna.peerId);
    assert.deepEqual(
      {
        ...annaInfo,
        producers: annaInfo.producers.map((p: { kind: string; appData: unknown }) => [
          p.kind,
          p.appData,
        ]),
      },
      {
        peerId: anna.peerId,
        userId: 'anna',
        nickname: 'anna',
        producers: [
          ['audio', { source: 'mic' }],
          ['video', { source: 'camera' }],
        ],
        dataProducers: [],
      },
    );
    assert.equal(caraJoin.peers.length, 2);
    await anna.sig.event('rtc:peerJoined');
    await ben.sig.event('rtc:peerJoined');

    // Ben publishes: Anna and Cara hear rtc:newProducer with its appData.
    const benSend = await ok(
      ben.sig,
      'rtc:createTransport',
      { meetingId: id, direction: 'send' },
      'rtc:transportCreated',
    );
    const benAudio = await ok(
      ben.sig,
      'rtc:produce',
      {
        meetingId: id,
        transportId: benSend.transportId,
        kind: 'audio',
        rtpParameters: audioRtp(2002),
        appData: { source: 'mic' },
      },
      'rtc:produced',
    );
    for (const sig of [anna.sig, cara]) {
      const np = await sig.event('rtc:newProducer');
      assert.deepEqual(np.data, {
        meetingId: id,
        producerId: benAudio.producerId,
        peerId: ben.peerId,
        kind: 'audio',
        appData: { source: 'mic' },
        paused: false,
      });
    }

    // Anna leaves: the others hear rtc:producerClosed for each of her producers, then rtc:peerLeft.
    assert.deepEqual(await ok(anna.sig, 'rtc:leave', { meetingId: id }, 'rtc:left'), {
      peerId: anna.peerId,
    });
    for (const sig of [ben.sig, cara]) {
      const closed = [
        (await sig.event('rtc:producerClosed')).data,
        (await sig.event('rtc:producerClosed')).data,
      ];
      assert.deepEqual(
        closed.map((d) => d.producerId).sort(),
        [audio.producerId, video.producerId].sort(),
      );
      assert.ok(closed.every((d) => d.peerId === anna.peerId));
      assert.deepEqual((await sig.event('rtc:peerLeft')).data, {
        meetingId: id,
        peerId: anna.peerId,
        userId: 'anna',
      });
    }
    await fails(
      ben.sig,
      'rtc:resumeConsumer',
      { meetingId: id, consumerId: consumed.consumerId },
      40404,
    );
    await fails(anna.sig, 'rtc:createTransport', { meetingId: id, direction: 'send' }, 40301);
    const rows = await srv.app.db.kysely
      .selectFrom('meeting_participants')
      .select(['user_id', 'left_at'])
      .where('meeting_id', '=', id)
      .where('user_id', '=', 'anna')
      .execute();
    assert.equal(rows[0]!.left_at, null, 'rtc:leave keeps the REST participation');
    const again = await join(anna.sig, id);
    assert.notEqual(again.peerId, anna.peerId, 'a new peer after rtc:leave');
  });

  test('extensions: mute, consumer controls, ICE restart, stats, data channels', async () => {
    const id = await createMeeting(srv, 'dan');
    await joinMeeting(srv, id, 'dan', 'eve');
    const dan = await join(await ws('dan'), id);
    const eve = await join(await ws('eve'), id);
    await dan.sig.event('rtc:peerJoined');
    const sctpCapabilities = { numStreams: { OS: 1024, MIS: 1024 } };
    const send = await ok(
      dan.sig,
      'rtc:createTransport',
      { meetingId: id, direction: 'send', sctpCapabilities },
      'rtc:transportCreated',
    );
    assert.equal(send.sctpParameters.port, 5000);
    const recv = await ok(
      eve.sig,
      'rtc:createTransport',
      { meetingId: id, direction: 'recv', sctpCapabilities },
      'rtc:transportCreated',
    );
    const video = await ok(
      dan.sig,
      'rtc:produce',
      { meetingId: id, transportId: send.transportId, kind: 'video', rtpParameters: videoRtp('0') },
      'rtc:produced',
    );
    await eve.sig.event('rtc:newProducer');
    const c = await ok(
      eve.sig,
      'rtc:consume',
      { meetingId: id, producerId: video.producerId, rtpCapabilities: eve.caps },
      'rtc:consumed',
    );
    const cid = { meetingId: id, consumerId: c.consumerId };

    // Mute: the producer's owner pauses; the others hear it, and consumers see producerPaused.
    const paused = await ok(
      dan.sig,
      'rtc:pauseProducer',
      { meetingId: id, producerId: video.producerId },
      'rtc:producerPaused',
    );
    assert.deepEqual(paused, { producerId: video.producerId, peerId: dan.peerId });
    assert.deepEqual((await eve.sig.event('rtc:producerPaused')).data, {
      meetingId: id,
      producerId: video.producerId,
      peerId: dan.peerId,
    });
    const c2 = await ok(
      eve.sig,
      'rtc:consume',
      { meetingId: id, producerId: video.producerId, rtpCapabilities: eve.caps },
      'rtc:consumed',
    );
    assert.equal(c2.producerPaused, true);
    await ok(
      dan.sig,
      'rtc:resumeProducer',
      { meetingId: id, producerId: video.producerId },
      'rtc:producerResumed',
    );
    await eve.sig.event('rtc:producerResumed');

    await ok(eve.sig, 'rtc:resumeConsumer', cid, 'rtc:consumerResumed');
    await ok(eve.sig, 'rtc:pauseConsumer', cid, 'rtc:consumerPaused');
    const layers = await ok(
      eve.sig,
      'rtc:setConsumerPreferredLayers',
      { ...cid, spatialLayer: 0, temporalLayer: 1 },
      'rtc:consumerPreferredLayersSet',
    );
    assert.deepEqual(layers.preferredLayers, { spatialLayer: 0, temporalLayer: 1 });
    const prio = await ok(
      eve.sig,
      'rtc:setConsumerPriority',
      { ...cid, priority: 7 },
      'rtc:consumerPrioritySet',
    );
    assert.equal(prio.priority, 7);
    await ok(eve.sig, 'rtc:requestConsumerKeyFrame', cid, 'rtc:consumerKeyFrameRequested');

    const ice = await ok(
      dan.sig,
      'rtc:restartIce',
      { meetingId: id, transportId: send.transportId },
      'rtc:iceRestarted',
    );
    assert.notEqual(ice.iceParameters.usernameFragment, send.iceParameters.usernameFragment);
    const ts = await ok(
      dan.sig,
      'rtc:getTransportStats',
      { meetingId: id, transportId: send.transportId },
      'rtc:transportStats',
    );
    assert.equal(ts.stats[0].type, 'webrtc-transport');
    const ps = await ok(
      dan.sig,
      'rtc:getProducerStats',
      { meetingId: id, producerId: video.producerId },
      'rtc:producerStats',
    );
    assert.ok(Array.isArray(ps.stats));

    // Data channels.
    const dp = await ok(
      dan.sig,
      'rtc:produceData',
      {
        meetingId: id,
        transportId: send.transportId,
        sctpStreamParameters: { streamId: 0, ordered: true },
        label: 'chat',
        protocol: 'json',
        appData: { x: 1 },
      },
      'rtc:dataProduced',
    );
    const ndp = await eve.sig.event('rtc:newDataProducer');
    assert.deepEqual(ndp.data, {
      meetingId: id,
      dataProducerId: dp.dataProducerId,
      peerId: dan.peerId,
      label: 'chat',
      protocol: 'json',
      appData: { x: 1 },
    });
    const dc = await ok(
      eve.sig,
      'rtc:consumeData',
      { meetingId: id, dataProducerId: dp.dataProducerId, transportId: recv.transportId },
      'rtc:dataConsumed',
    );
    assert.equal(dc.id, dc.dataConsumerId);
    assert.equal(dc.label, 'chat');
    assert.equal(typeof dc.sctpStreamParameters.streamId, 'number');

    // Close a producer: the consumer side hears rtc:producerClosed; the consumers are gone.
    const closed = await ok(
      dan.sig,
      'rtc:closeProducer',
      { meetingId: id, producerId: video.producerId },
      'rtc:producerClosed',
    );
    assert.deepEqual(closed, { producerId: video.producerId, peerId: dan.peerId });
    assert.deepEqual((await eve.sig.event('rtc:producerClosed')).data, {
      meetingId: id,
      producerId: video.producerId,
      peerId: dan.peerId,
    });
    await fails(eve.sig, 'rtc:resumeConsumer', cid, 40404);
  });

  test('every error code of the spec (and the extensions)', async () => {
    const id = await createMeeting(srv, 'fay');
    await joinMeeting(srv, id, 'fay', 'gus');
    const fay = await join(await ws('fay'), id);
    const gus = await join(await ws('gus'), id);
    const t = await ok(
      fay.sig,
      'rtc:createTransport',
      { meetingId: id, direction: 'send' },
      'rtc:transportCreated',
    );
    const p = await ok(
      fay.sig,
      'rtc:produce',
      { meetingId: id, transportId: t.transportId, kind: 'audio', rtpParameters: audioRtp(3003) },
      'rtc:produced',
    );
    const stranger = await ws('hal');

    // 40001 bad input, 40002 unknown type.
    await fails(fay.sig, 'rtc:join', {}, 40001);
    await fails(fay.sig, 'rtc:nope', { meetingId: id }, 40002);
    // 40301: not joined through REST; joined through REST but not rtc:join.
    await fails(stranger, 'rtc:join', { meetingId: id }, 40301);
    await fails(stranger, 'rtc:getRouterRtpCapabilities', { meetingId: id }, 40301);
    await joinMeeting(srv, id, 'hal');
    await fails(stranger, 'rtc:createTransport', { meetingId: id, direction: 'send' }, 40301);
    // 40401 meeting.
    await fails(fay.sig, 'rtc:join', { meetingId: MISSING }, 40401);
    await fails(
      fay.sig,
      'rtc:consume',
      { meetingId: MISSING, producerId: p.producerId, rtpCapabilities: fay.caps },
      40401,
    );
    // 40402 transport: unknown, and another peer's (a peer only touches its own).
    await fails(
      fay.sig,
      'rtc:connectTransport',
      { meetingId: id, transportId: 'nope', dtlsParameters: DTLS },
      40402,
    );
    await fails(
      gus.sig,
      'rtc:connectTransport',
      { meetingId: id, transportId: t.transportId, dtlsParameters: DTLS },
      40402,
    );
    await fails(
      gus.sig,
      'rtc:produce',
      { meetingId: id, transportId: t.transportId, kind: 'audio', rtpParameters: audioRtp(4) },
      40402,
    );
    await fails(
      gus.sig,
      'rtc:consume',
      { meetingId: id, producerId: p.producerId, rtpCapabilities: gus.caps },
      40402,
    );
    // 40403 producer: unknown, and another peer's.
    await ok(
      gus.sig,
      'rtc:createTransport',
      { meetingId: id, direction: 'recv' },
      'rtc:transportCreated',
    );
    await fails(
      gus.sig,
      'rtc:consume',
      { meetingId: id, producerId: 'nope', rtpCapabilities: gus.caps },
      40403,
    );
    await fails(gus.sig, 'rtc:closeProducer', { meetingId: id, producerId: p.producerId }, 40403);
    await fails(gus.sig, 'rtc:pauseProducer', { meetingId: id, producerId: p.producerId }, 40403);
    // 40404 consumer, 40405 data producer.
    await fails(gus.sig, 'rtc:resumeConsumer', { meetingId: id, consumerId: 'nope' }, 40404);
    await fails(gus.sig, 'rtc:consumeData', { meetingId: id, dataProducerId: 'nope' }, 40405);
    // 40902: a transport connects once.
    await ok(
      fay.sig,
      'rtc:connectTransport',
      { meetingId: id, transportId: t.transportId, dtlsParameters: DTLS },
      'rtc:transportConnected',
    );
    await fails(
      fay.sig,
      'rtc:connectTransport',
      { meetingId: id, transportId: t.transportId, dtlsParameters: DTLS },
      40902,
    );
    // Also when both come at once (rtc:connectTransport runs out of the room's order).
    const again = await ok(
      fay.sig,
      'rtc:createTransport',
      { meetingId: id, direction: 'recv' },
      'rtc:transportCreated',
    );
    const connect = { meetingId: id, transportId: again.transportId, dtlsParameters: DTLS };
    const both = await Promise.all([
      fay.sig.request('rtc:connectTransport', connect),
      fay.sig.request('rtc:connectTransport', connect),
    ]);
    assert.deepEqual(
      both.map((r) => (r.type === 'rtc:error' ? r.code : r.type)).sort(),
      [40902, 'rtc:transportConnected'].sort(),
      JSON.stringify(both),
    );
    // 40901: the meeting ended.
    const end = await rest(srv, 'fay', 'POST', `/api/meetings/${id}/end`);
    assert.equal(end.status, 200);
    await fails(fay.sig, 'rtc:createTransport', { meetingId: id, direction: 'send' }, 40901);
    await fails(gus.sig, 'rtc:join', { meetingId: id }, 40901);
    await fails(gus.sig, 'rtc:getRouterRtpCapabilities', { meetingId: id }, 40901);
  });

  test('50001 when the SFU cannot run', async () => {
    const broken = await startMeetingServer({}, { workerBin: '/nonexistent/mediasoup-worker' });
    try {
      const id = await createMeeting(broken, 'ida');
      await joinMeeting(broken, id, 'ida');
      const c = wsSignaling(await meetingWs(broken, 'ida'));
      await fails(c, 'rtc:getRouterRtpCapabilities', { meetingId: id }, 50001);
      await fails(c, 'rtc:join', { meetingId: id }, 50001);
      c.close();
    } finally {
      await broken.close();
    }
  });

  test('bad input never crashes the server: a table of malformed rtc:* requests', async () => {
    const id = await createMeeting(srv, 'jon');
    await joinMeeting(srv, id, 'jon');
    const jon = await join(await ws('jon'), id);
    const t = await ok(
      jon.sig,
      'rtc:createTransport',
      { meetingId: id, direction: 'send', sctpCapabilities: { numStreams: { OS: 16, MIS: 16 } } },
      'rtc:transportCreated',
    );
    const recv = await ok(
      jon.sig,
      'rtc:createTransport',
      { meetingId: id, direction: 'recv' },
      'rtc:transportCreated',
    );
    const p = await ok(
      jon.sig,
      'rtc:produce',
      { meetingId: id, transportId: t.transportId, kind: 'audio', rtpParameters: audioRtp(5005) },
      'rtc:produced',
    );
    const m = { meetingId: id };
    const T = t.transportId as string;
    const table: Array<[string, unknown, number]> = [
      ['rtc:join', null, 40001],
      ['rtc:join', 'x', 40001],
      ['rtc:join', [], 40001],
      ['rtc:join', { meetingId: 7 }, 40001],
      ['rtc:join', { meetingId: '' }, 40001],
      ['rtc:join', { meetingId: 'x'.repeat(65) }, 40001],
      ['rtc:createTransport', { ...m }, 40001],
      ['rtc:createTransport', { ...m, direction: 'both' }, 40001],
      [
        'rtc:createTransport',
        { ...m, direction: 'send', sctpCapabilities: { numStreams: { OS: 0, MIS: 1 } } },
        40001,
      ],
      ['rtc:connectTransport', { ...m, transportId: T }, 40001],
      [
        'rtc:connectTransport',
        { ...m, transportId: T, dtlsParameters: { fingerprints: [] } },
        40001,
      ],
      [
        'rtc:connectTransport',
        { ...m, transportId: T, dtlsParameters: { role: 'boss', fingerprints: DTLS.fingerprints } },
        40001,
      ],
      [
        'rtc:connectTransport',
        {
          ...m,
          transportId: T,
          dtlsParameters: { fingerprints: [{ algorithm: 'md0', value: 'zz' }] },
        },
        40001,
      ],
      ['rtc:produce', { ...m, transportId: T, kind: 'audio' }, 40001],
      ['rtc:produce', { ...m, transportId: T, kind: 'smell', rtpParameters: audioRtp(6) }, 40001],
      [
        'rtc:produce',
        { ...m, transportId: T, kind: 'audio', rtpParameters: { codecs: [] } },
        40001,
      ],
      [
        'rtc:produce',
        {
          ...m,
          transportId: T,
          kind: 'audio',
          rtpParameters: {
            codecs: [{ mimeType: 'audio/opus', payloadType: 300, clockRate: 48000 }],
          },
        },
        40001,
      ],
      [
        'rtc:produce',
        {
          ...m,
          transportId: T,
          kind: 'audio',
          rtpParameters: { codecs: [{ mimeType: 'nonsense', payloadType: 100, clockRate: 48000 }] },
        },
        40001,
      ],
      ['rtc:produce', { ...m, transportId: T, kind: 'video', rtpParameters: audioRtp(7) }, 40001],
      [
        'rtc:produce',
        { ...m, transportId: T, kind: 'audio', rtpParameters: audioRtp(5005) },
        40001,
      ],
      [
        'rtc:produce',
        { ...m, transportId: recv.transportId, kind: 'audio', rtpParameters: audioRtp(8) },
        40001,
      ],
      [
        'rtc:produce',
        { ...m, transportId: T, kind: 'audio', rtpParameters: audioRtp(9), appData: 'x' },
        40001,
      ],
      ['rtc:consume', { ...m, producerId: p.producerId }, 40001],
      [
        'rtc:consume',
        { ...m, producerId: p.producerId, rtpCapabilities: { codecs: 'all' } },
        40001,
      ],
      ['rtc:consume', { ...m, producerId: p.producerId, rtpCapabilities: { codecs: [] } }, 40001],
      [
        'rtc:consume',
        {
          ...m,
          producerId: p.producerId,
          rtpCapabilities: { codecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }] },
        },
        40001,
      ],
      ['rtc:resumeConsumer', { ...m, consumerId: { $ne: null } }, 40001],
      ['rtc:setConsumerPreferredLayers', { ...m, consumerId: 'c', spatialLayer: -1 }, 40001],
      ['rtc:setConsumerPriority', { ...m, consumerId: 'c', priority: 0 }, 40001],
      ['rtc:setConsumerPriority', { ...m, consumerId: 'c', priority: 1.5 }, 40001],
      [
        'rtc:produceData',
        { ...m, transportId: T, sctpStreamParameters: { streamId: 70000 } },
        40001,
      ],
      [
        'rtc:produceData',
        { ...m, transportId: recv.transportId, sctpStreamParameters: { streamId: 1 } },
        40001,
      ],
      ['rtc:consumeData', { ...m }, 40001],
      ['rtc:restartIce', { ...m, transportId: null }, 40001],
      ['rtc:leave', {}, 40001],
      ['rtc:', { ...m }, 40002],
      ['__proto__', { ...m }, 40002],
      ['constructor', { ...m }, 40002],
    ];
    for (const [type, data, code] of table) await fails(jon.sig, type, data, code);

    // Malformed frames: errors in the meeting shape, the socket stays open.
    const raw = await meetingWs(srv, 'jon');
    sockets.push(raw);
    for (const frame of [
      'not json',
      '[]',
      '{"type":7}',
      '{"data":{}}',
      JSON.stringify({ type: 'rtc:join', data: 5, requestId: 'r1' }),
    ]) {
      raw.send(frame);
      const e = await raw.next((f) => f.type === 'rtc:error');
      assert.equal(e.code, 40001, frame);
    }
    raw.send(JSON.stringify({ type: 'rtc:join', data: 5, requestId: 'r2' }));
    assert.equal(
      (await raw.next((f) => f.requestId === 'r2')).code,
      40001,
      'answered by requestId',
    );
    raw.send(Buffer.from([1, 2, 3]));
    assert.equal((await raw.next((f) => f.type === 'rtc:error')).code, 40001, 'binary frame');
    raw.send(JSON.stringify({ type: 'rtc:join', data: { meetingId: 'x'.repeat(70_000) } }));
    assert.equal((await raw.next((f) => f.type === 'rtc:error')).code, 41301, 'oversized frame');
    // The server is still well: the producer still works.
    await ok(
      jon.sig,
      'rtc:pauseProducer',
      { meetingId: id, producerId: p.producerId },
      'rtc:producerPaused',
    );
  });

  test('one user on two devices is two peers; a dropped connection sets left_at', async () => {
    const id = await createMeeting(srv, 'kim');
    await joinMeeting(srv, id, 'kim', 'lou');
    const lou = await join(await ws('lou'), id);
    const phoneWs = await meetingWs(srv, 'kim');
    const laptopWs = await meetingWs(srv, 'kim');
    sockets.push(laptopWs);
    const phone = await join(wsSignaling(phoneWs), id);
    const laptop = await join(wsSignaling(laptopWs), id);
    assert.notEqual(phone.peerId, laptop.peerId);
    await lou.sig.event('rtc:peerJoined');
    await lou.sig.event('rtc:peerJoined');
    const leftAt = async () =>
      (
        await srv.app.db.kysely
          .selectFrom('meeting_participants')
          .select('left_at')
          .where('meeting_id', '=', id)
          .where('user_id', '=', 'kim')
          .executeTakeFirstOrThrow()
      ).left_at;

    phoneWs.close();
    assert.deepEqual((await lou.sig.event('rtc:peerLeft')).data, {
      meetingId: id,
      peerId: phone.peerId,
      userId: 'kim',
    });
    assert.equal(await leftAt(), null, 'kim is still in the meeting on the laptop');
    laptopWs.close();
    assert.equal((await lou.sig.event('rtc:peerLeft')).data.peerId, laptop.peerId);
    await until('left_at after the last connection dropped', async () => (await leftAt()) !== null);
    const again = await meetingWs(srv, 'kim');
    sockets.push(again);
    await fails(wsSignaling(again), 'rtc:join', { meetingId: id }, 40301);
  });

  test('a /ws/meeting connection is a meeting peer, not a call device: it is never rung', async () => {
    const id = await createMeeting(srv, 'max');
    await joinMeeting(srv, id, 'max');
    const peer = await meetingWs(srv, 'max');
    sockets.push(peer);
    await join(wsSignaling(peer), id);
    const caller = await srv.connect('ned');
    const inv = await caller.request('call:invite', { callee: 'max', media: 'audio' });
    assert.equal(inv.type, 'ok');
    const ended = await caller.next(
      (f) => f.type === 'call:ended' && f.data.callId === inv.data.callId,
    );
    assert.equal(ended.data.reason, 'offline');
    assert.deepEqual(
      (await peer.quiet(200)).filter((f) => !String(f.type).startsWith('rtc:')),
      [],
      'nothing about calls reaches the meeting socket',
    );
    caller.close();
  });

  test('REST leave removes the user’s peers (rtc:left); REST end tells everyone rtc:meetingEnded', async () => {
    const id = await createMeeting(srv, 'max');
    await joinMeeting(srv, id, 'max', 'ned');
    const max = await join(await ws('max'), id);
    const ned = await join(await ws('ned'), id);
    await max.sig.event('rtc:peerJoined');
    const send = await ok(
      ned.sig,
      'rtc:createTransport',
      { meetingId: id, direction: 'send' },
      'rtc:transportCreated',
    );
    const p = await ok(
      ned.sig,
      'rtc:produce',
      {
        meetingId: id,
        transportId: send.transportId,
        kind: 'audio',
        rtpParameters: audioRtp(6006),
      },
      'rtc:produced',
    );
    await max.sig.event('rtc:newProducer');
    assert.equal((await rest(srv, 'ned', 'POST', `/api/meetings/${id}/leave`)).status, 200);
    assert.deepEqual((await ned.sig.event('rtc:left')).data, { meetingId: id, peerId: ned.peerId });
    assert.equal((await max.sig.event('rtc:producerClosed')).data.producerId, p.producerId);
    assert.equal((await max.sig.event('rtc:peerLeft')).data.peerId, ned.peerId);
    await fails(ned.sig, 'rtc:join', { meetingId: id }, 40301);

    await joinMeeting(srv, id, 'ned');
    await join(ned.sig, id);
    await max.sig.event('rtc:peerJoined');
    const end = await rest(srv, 'max', 'POST', `/api/meetings/${id}/end`);
    for (const sig of [max.sig, ned.sig]) {
      assert.deepEqual((await sig.event('rtc:meetingEnded')).data, {
        meetingId: id,
        endedBy: 'max',
        endedAt: end.body.data.endedAt,
      });
    }
    await until('media closed', () => !roomOpen(srv, id));
  });

  test('the native /ws endpoint speaks rtc:* too (ok/error envelopes, {type, data} events)', async () => {
    const id = await createMeeting(srv, 'oli');
    await joinMeeting(srv, id, 'oli', 'pia');
    const oli = await meetingWs(srv, 'oli', '/ws');
    const pia = await meetingWs(srv, 'pia', '/ws');
    sockets.push(oli, pia);
    const j = await oli.request('rtc:join', { meetingId: id });
    assert.equal(j.type, 'ok');
    assert.ok(j.data.peerId);
    assert.equal((await pia.request('rtc:join', { meetingId: MISSING })).error.code, 'not_found');
    await pia.request('rtc:join', { meetingId: id });
    const ev = await oli.nextType('rtc:peerJoined');
    assert.equal(ev.data.userId, 'pia');
    assert.equal(ev.data.meetingId, id);
  });
});

describe('meeting lifecycle on the SFU', () => {
  test('an empty room closes its router after the grace period', async () => {
    const srv = await startMeetingServer({}, { emptyRoomGraceMs: 300 });
    try {
      const id = await createMeeting(srv, 'quin');
      await joinMeeting(srv, id, 'quin');
      const c = await meetingWs(srv, 'quin');
      const q = await join(wsSignaling(c), id);
      await ok(q.sig, 'rtc:leave', { meetingId: id }, 'rtc:left');
      assert.equal(roomOpen(srv, id), true, 'still open within the grace');
      await until('room closed after the grace', () => !roomOpen(srv, id));
      assert.equal(routers(srv), 0);
      await join(q.sig, id);
      assert.equal(roomOpen(srv, id), true, 'joining again opens a new room');
      c.close();
    } finally {
      await srv.close();
    }
  });

  test('a worker that dies is replaced; its meetings hear rtc:mediaReset and can rejoin', async () => {
    const srv = await startMeetingServer();
    try {
      const id = await createMeeting(srv, 'rex');
      await joinMeeting(srv, id, 'rex', 'sue');
      const rex = await join(wsSignaling(await meetingWs(srv, 'rex')), id);
      const sue = await join(wsSignaling(await meetingWs(srv, 'sue')), id);
      await ok(
        rex.sig,
        'rtc:createTransport',
        { meetingId: id, direction: 'send' },
        'rtc:transportCreated',
      );
      // The worker of every node holding the meeting's media (one node, unless the meeting
      // spans the nodes of a cluster: then each holds its own peers').
      const killed = holders(srv, id).map(({ sfu }) => ({ sfu, before: sfu.workers()[0]!.pid }));
      for (const { before } of killed) process.kill(before, 'SIGKILL');
      for (const s of [rex.sig, sue.sig]) {
        assert.deepEqual((await s.event('rtc:mediaReset', 10_000)).data, {
          meetingId: id,
          reason: 'worker_died',
        });
      }
      for (const { sfu, before } of killed) {
        await until(
          'replacement worker',
          () => sfu.workers()[0]?.pid !== undefined && sfu.workers()[0]?.pid !== before,
        );
      }
      const again = await join(rex.sig, id);
      assert.notEqual(again.peerId, rex.peerId);
      await ok(
        rex.sig,
        'rtc:createTransport',
        { meetingId: id, direction: 'send' },
        'rtc:transportCreated',
      );
      assert.equal(routers(srv), 1);
      rex.sig.close();
      sue.sig.close();
    } finally {
      await srv.close();
    }
  });
});

describe('meeting signaling over socket.io', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startMeetingServer({
      limits: { rateBurst: 40, meetingRatePerSec: 10, meetingRateBurst: 40, floodStrikes: 25 },
    });
  });
  after(() => srv.close());

  test('event = type, ack = response; broadcasts and unacked answers are events with the data', async () => {
    const id = await createMeeting(srv, 'tom');
    await joinMeeting(srv, id, 'tom', 'uma');
    const tom = await SioClient.open(srv, 'tom');
    const uma = await SioClient.open(srv, 'uma');
    try {
      const t = await join(tom, id);
      const u = await join(uma, id);
      const pj = await tom.event('rtc:peerJoined');
      assert.deepEqual(pj.data, {
        meetingId: id,
        peerId: u.peerId,
        userId: 'uma',
        nickname: 'uma',
      });
      const send = await ok(
        tom,
        'rtc:createTransport',
        { meetingId: id, direction: 'send' },
        'rtc:transportCreated',
      );
      const raw = new Promise<Frame['data']>((resolve) =>
        uma.socket.once('rtc:newProducer', resolve),
      );
      const prod = await ok(
        tom,
        'rtc:produce',
        { meetingId: id, transportId: send.transportId, kind: 'video', rtpParameters: videoRtp() },
        'rtc:produced',
      );
      // As the spec's client reads it: `socket.on('rtc:newProducer', ({ producerId }) => …)`.
      assert.equal((await raw).producerId, prod.producerId);
      assert.equal((await uma.event('rtc:newProducer')).data.producerId, prod.producerId);
      await ok(
        uma,
        'rtc:createTransport',
        { meetingId: id, direction: 'recv' },
        'rtc:transportCreated',
      );
      // The envelope form with a requestId is accepted too, and the requestId comes back.
      const env = await uma.request('rtc:consume', {
        type: 'rtc:consume',
        requestId: 'q-1',
        data: { meetingId: id, producerId: prod.producerId, rtpCapabilities: u.caps },
      });
      assert.equal(env.type, 'rtc:consumed');
      assert.equal(env.requestId, 'q-1');
      const err = await uma.request('rtc:closeProducer', {
        meetingId: id,
        producerId: prod.producerId,
      });
      assert.deepEqual(
        { ...err, error: typeof err.error },
        { type: 'rtc:error', request: 'rtc:closeProducer', error: 'string', code: 40403 },
      );
      assert.equal((await uma.request('rtc:join', { meetingId: MISSING })).code, 40401);
      assert.equal((await uma.request('rtc:what', {})).code, 40002);
      assert.equal((await uma.request('rtc:join', 'x')).code, 40001);
      // Without an ack the response comes as an event named by its type, shaped like a
      // broadcast: its data, with the request's requestId in it.
      uma.socket.emit('rtc:getRouterRtpCapabilities', { meetingId: id, requestId: 'no-ack' });
      const noAck = await uma.event('rtc:routerRtpCapabilities');
      assert.deepEqual(Object.keys(noAck.data).sort(), ['requestId', 'rtpCapabilities']);
      assert.equal(noAck.data.requestId, 'no-ack');
      uma.socket.emit('rtc:join', { meetingId: MISSING, requestId: 'no-ack-2' });
      const noAckError = await uma.event('rtc:error');
      assert.deepEqual(
        { ...noAckError.data, error: typeof noAckError.data.error },
        { requestId: 'no-ack-2', request: 'rtc:join', error: 'string', code: 40401 },
      );
      // A dropped socket is a peer leaving.
      tom.close();
      assert.equal((await uma.event('rtc:producerClosed')).data.producerId, prod.producerId);
      assert.equal((await uma.event('rtc:peerLeft')).data.peerId, t.peerId);
    } finally {
      tom.close();
      uma.close();
    }
  });

  test('handshake auth is required', async () => {
    await assert.rejects(SioClient.open(srv, 'vic', {}), /unauthorized/);
    await assert.rejects(SioClient.open(srv, 'vic', { token: 'garbage' }), /unauthorized/);
  });

  test('the per-user rate limit applies (shared with WebSocket), then a flood disconnects', async () => {
    const id = await createMeeting(srv, 'wes');
    await joinMeeting(srv, id, 'wes');
    const wes = await SioClient.open(srv, 'wes');
    const wsWes = await meetingWs(srv, 'wes');
    const caps = { meetingId: id };
    const started = Date.now();
    // One meeting budget for the user: 30 requests over WebSocket and 30 over socket.io, all at
    // once. Every refusal names the request it refuses.
    for (let i = 0; i < 30; i++) {
      wsWes.send({ type: 'rtc:getRouterRtpCapabilities', data: caps, requestId: `w${i}` });
    }
    const answers = await Promise.all([
      ...Array.from({ length: 30 }, () =>
        wsWes.next((f) => f.type === 'rtc:routerRtpCapabilities' || f.code === 42901, 10_000),
      ),
      ...Array.from({ length: 30 }, () => wes.request('rtc:getRouterRtpCapabilities', caps)),
    ]);
    const refill = Math.ceil(((Date.now() - started) / 1000) * 10) + 1;
    const passed = answers.filter((a) => a.type === 'rtc:routerRtpCapabilities').length;
    const limited = answers.filter((a) => a.code === 42901).length;
    assert.equal(passed + limited, 60);
    const wsAnswers = answers.slice(0, 30);
    assert.deepEqual(
      wsAnswers.map((a) => a.requestId as string).sort(),
      Array.from({ length: 30 }, (_, i) => `w${i}`).sort(),
      'each WebSocket request answered by its requestId, refused or not',
    );
    // In a cluster each node checks its own bucket and the counts are reconciled every
    // cluster.rateSyncMs, so a burst shorter than one sync may get one burst per node.
    const burst = 40 * srv.apps.length;
    assert.ok(
      passed >= 40 && passed <= burst + refill,
      `burst ≤ ${burst} (+${refill} refill): ${passed}`,
    );
    wsWes.close();
    // A flood: far more than any node's bucket holds (in a cluster the node this socket is on
    // may still have tokens that another node's requests did not take).
    const gone = new Promise((r) => wes.socket.once('disconnect', r));
    for (let i = 0; i < 100; i++) wes.socket.emit('rtc:join', { meetingId: id });
    await gone;
  });
});

/** True while the meeting has a media room on the node (in a cluster: on any node). */
function roomOpen(srv: TestServer, meetingId: string): boolean {
  return srv.apps.some((a) => a.rtc.has(meetingId));
}

/** Routers of every node's SFU. */
function routers(srv: TestServer): number {
  return srv.apps.reduce((n, a) => n + a.sfu.workers().reduce((m, w) => m + w.routers, 0), 0);
}

/** The nodes that hold the meeting's media (the only node on a single node). */
function holders(srv: TestServer, meetingId: string): Array<TestServer['app']> {
  const found = srv.apps.filter((a) => a.rtc.has(meetingId));
  return found.length > 0 ? found : [srv.app];
}
