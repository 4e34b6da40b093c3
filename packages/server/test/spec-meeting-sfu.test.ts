import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type Frame, type TestClient, type TestServer } from './harness.ts';
import {
  SioClient,
  createMeeting,
  joinMeeting,
  meetingWs,
  rest,
  startMeetingServer,
} from './meeting-kit.ts';

/**
 * specs/meeting-sfu.md, played as written, over /ws/meeting and over socket.io: every
 * client → server frame below is copied verbatim from the spec. The only changes, made by
 * `play()`: the spec's meetingId is replaced by a real meeting's (created and joined through
 * Parley's REST API, README: the spec itself has no create/join/leave/end endpoint, it leaves
 * them to REQ-002), the placeholder ids `transport-uuid-001`, `producer-uuid-001` and
 * `consumer-uuid-001` are replaced by the ids the server handed out, and `direction` is set to
 * "recv" as the example's comment allows. Responses and broadcasts are checked against the
 * spec's response examples field by field: the same field names (plus exactly the documented
 * extensions, docs/protocol.md), ids by type (and against the ids handed out), other values
 * by value. A default server: no grants, default limits.
 */

const SPEC_MEETING = '550e8400-e29b-41d4-a716-446655440000';

// 1. rtc:join
const JOIN = String.raw`{
  "type": "rtc:join",
  "data": {
    "meetingId": "550e8400-e29b-41d4-a716-446655440000"
  }
}`;
const JOINED = String.raw`{
  "type": "rtc:joined",
  "data": {
    "peerId": "peer-uuid-001",
    "peers": [
      {
        "peerId": "peer-uuid-002",
        "userId": "user-uuid-002",
        "nickname": "李四",
        "producers": [
          {
            "id": "producer-uuid-001",
            "kind": "video",
            "appData": {}
          },
          {
            "id": "producer-uuid-002",
            "kind": "audio",
            "appData": {}
          }
        ]
      }
    ]
  }
}`;

// 2. rtc:getRouterRtpCapabilities
const GET_CAPS = String.raw`{
  "type": "rtc:getRouterRtpCapabilities",
  "data": {
    "meetingId": "550e8400-e29b-41d4-a716-446655440000"
  }
}`;
const CAPS = String.raw`{
  "type": "rtc:routerRtpCapabilities",
  "data": {
    "rtpCapabilities": {
      "codecs": [
        {
          "kind": "audio",
          "mimeType": "audio/opus",
          "clockRate": 48000,
          "channels": 2
        },
        {
          "kind": "video",
          "mimeType": "video/VP8",
          "clockRate": 90000
        }
      ],
      "headerExtensions": [
        {
          "uri": "urn:ietf:params:rtp-hdrext:sdes:mid",
          "id": 1
        }
      ]
    }
  }
}`;

// 3. rtc:createTransport
const CREATE_TRANSPORT = String.raw`{
  "type": "rtc:createTransport",
  "data": {
    "meetingId": "550e8400-e29b-41d4-a716-446655440000",
    "direction": "send"  // 'send' | 'recv'
  }
}`;
const TRANSPORT_CREATED = String.raw`{
  "type": "rtc:transportCreated",
  "data": {
    "transportId": "transport-uuid-001",
    "iceParameters": {
      "usernameFragment": "8hhy",
      "password": "ICBxhGBYv9Nl8m"
    },
    "iceCandidates": [
      {
        "foundation": "1",
        "priority": 2122260223,
        "ip": "192.168.1.100",
        "protocol": "udp",
        "port": 40000,
        "type": "host"
      }
    ],
    "dtlsParameters": {
      "role": "auto",
      "fingerprints": [
        {
          "algorithm": "sha-256",
          "value": "82:5A:68:3D:36:C3:0A:DE:AF:67:AC:0C:9F:9D:2B:F4:87:A8:2C:9F:00:2E:33:63:01:63:3D:72:49:60:08:44"
        }
      ]
    }
  }
}`;

// 4. rtc:connectTransport
const CONNECT_TRANSPORT = String.raw`{
  "type": "rtc:connectTransport",
  "data": {
    "meetingId": "550e8400-e29b-41d4-a716-446655440000",
    "transportId": "transport-uuid-001",
    "dtlsParameters": {
      "role": "client",
      "fingerprints": [
        {
          "algorithm": "sha-256",
          "value": "82:5A:68:3D:36:C3:0A:DE:AF:67:AC:0C:9F:9D:2B:F4:87:A8:2C:9F:00:2E:33:63:01:63:3D:72:49:60:08:44"
        }
      ]
    }
  }
}`;
const TRANSPORT_CONNECTED = String.raw`{
  "type": "rtc:transportConnected",
  "data": {
    "transportId": "transport-uuid-001"
  }
}`;

// 5. rtc:produce
const PRODUCE = String.raw`{
  "type": "rtc:produce",
  "data": {
    "meetingId": "550e8400-e29b-41d4-a716-446655440000",
    "transportId": "transport-uuid-001",
    "kind": "video",
    "rtpParameters": {
      "codecs": [
        {
          "mimeType": "video/VP8",
          "payloadType": 101,
          "clockRate": 90000,
          "parameters": {}
        }
      ],
      "encodings": [
        {
          "rid": "r0",
          "maxBitrate": 100000,
          "scalabilityMode": "S1T3"
        },
        {
          "rid": "r1",
          "maxBitrate": 300000,
          "scalabilityMode": "S1T3"
        },
        {
          "rid": "r2",
          "maxBitrate": 1500000,
          "scalabilityMode": "S1T3"
        }
      ],
      "headerExtensions": [
        {
          "uri": "urn:ietf:params:rtp-hdrext:sdes:mid",
          "id": 1
        }
      ]
    },
    "appData": {
      "source": "camera"
    }
  }
}`;
const PRODUCED = String.raw`{
  "type": "rtc:produced",
  "data": {
    "producerId": "producer-uuid-001"
  }
}`;

// 6. rtc:consume
const CONSUME = String.raw`{
  "type": "rtc:consume",
  "data": {
    "meetingId": "550e8400-e29b-41d4-a716-446655440000",
    "producerId": "producer-uuid-001",
    "rtpCapabilities": {
      "codecs": [
        {
          "kind": "audio",
          "mimeType": "audio/opus",
          "clockRate": 48000,
          "channels": 2
        }
      ]
    }
  }
}`;
const CONSUMED = String.raw`{
  "type": "rtc:consumed",
  "data": {
    "consumerId": "consumer-uuid-001",
    "producerId": "producer-uuid-001",
    "kind": "video",
    "rtpParameters": {
      "codecs": [
        {
          "mimeType": "video/VP8",
          "payloadType": 101,
          "clockRate": 90000
        }
      ],
      "encodings": [
        {
          "ssrc": 12345678,
          "rid": "r2"
        }
      ]
    },
    "type": "simulcast",
    "producerPaused": false
  }
}`;

// 7. rtc:resumeConsumer
const RESUME_CONSUMER = String.raw`{
  "type": "rtc:resumeConsumer",
  "data": {
    "meetingId": "550e8400-e29b-41d4-a716-446655440000",
    "consumerId": "consumer-uuid-001"
  }
}`;
const CONSUMER_RESUMED = String.raw`{
  "type": "rtc:consumerResumed",
  "data": {
    "consumerId": "consumer-uuid-001"
  }
}`;

// 8. rtc:leave
const LEAVE = String.raw`{
  "type": "rtc:leave",
  "data": {
    "meetingId": "550e8400-e29b-41d4-a716-446655440000"
  }
}`;
const LEFT = String.raw`{
  "type": "rtc:left",
  "data": {
    "peerId": "peer-uuid-001"
  }
}`;

// 9.–13. broadcasts
const NEW_PRODUCER = String.raw`{
  "type": "rtc:newProducer",
  "data": {
    "producerId": "producer-uuid-003",
    "peerId": "peer-uuid-003",
    "kind": "video",
    "appData": {
      "source": "camera"
    }
  }
}`;
const PRODUCER_CLOSED = String.raw`{
  "type": "rtc:producerClosed",
  "data": {
    "producerId": "producer-uuid-001",
    "peerId": "peer-uuid-001"
  }
}`;
const PEER_JOINED = String.raw`{
  "type": "rtc:peerJoined",
  "data": {
    "peerId": "peer-uuid-003",
    "userId": "user-uuid-003",
    "nickname": "王五"
  }
}`;
const PEER_LEFT = String.raw`{
  "type": "rtc:peerLeft",
  "data": {
    "peerId": "peer-uuid-001",
    "userId": "user-uuid-001"
  }
}`;
const MEETING_ENDED = String.raw`{
  "type": "rtc:meetingEnded",
  "data": {
    "meetingId": "550e8400-e29b-41d4-a716-446655440000",
    "endedBy": "user-uuid-001",
    "endedAt": "2026-02-26T16:30:00.000Z"
  }
}`;

// REST: GET /api/meetings/550e8400-e29b-41d4-a716-446655440000/media-config
const MEDIA_CONFIG_PATH = '/api/meetings/550e8400-e29b-41d4-a716-446655440000/media-config';
const MEDIA_CONFIG = String.raw`{
  "code": 0,
  "message": "success",
  "data": {
    "iceServers": [
      {
        "urls": "stun:stun.l.google.com:19302"
      },
      {
        "urls": "stun:stun1.l.google.com:19302"
      },
      {
        "urls": "turn:turn.example.com:3478",
        "username": "user",
        "credential": "password"
      }
    ]
  }
}`;

/** A spec frame as JSON text, its `//` comments dropped (no string in them holds `//`). */
const text = (frame: string): string => frame.replace(/\s*\/\/[^\n]*/g, '');
/** The spec's own frame, parsed. */
const spec = (frame: string): Frame => JSON.parse(text(frame)) as Frame;

/** The placeholder → real id substitutions `play()` makes (and nothing else). */
type Ids = Partial<Record<'meetingId' | 'transportId' | 'producerId' | 'consumerId', string>>;
const PLACEHOLDER = {
  meetingId: SPEC_MEETING,
  transportId: 'transport-uuid-001',
  producerId: 'producer-uuid-001',
  consumerId: 'consumer-uuid-001',
} as const;

/** The spec's frame text with its placeholders replaced by real ids. */
function substitute(frame: string, ids: Ids): string {
  let t = text(frame);
  for (const [k, v] of Object.entries(ids)) {
    t = t.replaceAll(`"${PLACEHOLDER[k as keyof Ids]}"`, JSON.stringify(v));
  }
  return t;
}

/** One participant's signaling connection, whatever carries it. */
interface Wire {
  /** Sends the spec frame text as is; resolves with the response (`want` or `rtc:error`). */
  play(frameText: string, want: string): Promise<Frame>;
  /** The next broadcast of `type`, as `{type, data}`. */
  event(type: string): Promise<Frame>;
  close(): void;
}

function wsWire(c: TestClient): Wire {
  return {
    // The spec's frames have no requestId: the response is the next frame of its type.
    play(frameText, want) {
      c.send(frameText);
      return c.next((f) => f.type === want || f.type === 'rtc:error', 10_000);
    },
    event: (type) => c.next((f) => f.type === type, 5000),
    close: () => c.close(),
  };
}

function sioWire(s: SioClient): Wire {
  return {
    // socket.io: event name = type, argument = the spec's whole envelope, ack = the response.
    async play(frameText) {
      const f = JSON.parse(frameText) as Frame;
      return (await s.socket.timeout(10_000).emitWithAck(f.type as string, f)) as Frame;
    },
    event: (type) => s.event(type),
    close: () => s.close(),
  };
}

const isString = (v: unknown): boolean => typeof v === 'string' && v.length > 0;

/**
 * `got` has the spec example's shape: every field the example has, with the same JSON type,
 * recursively (array elements against the example's first element).
 */
function sameShape(got: unknown, example: unknown, path: string): void {
  if (Array.isArray(example)) {
    assert.ok(Array.isArray(got), `${path}: an array, got ${JSON.stringify(got)}`);
    if (example.length > 0) {
      assert.ok(got.length > 0, `${path}: not empty`);
      sameShape(got[0], example[0], `${path}[0]`);
    }
  } else if (example !== null && typeof example === 'object') {
    assert.ok(got !== null && typeof got === 'object', `${path}: an object`);
    for (const [k, v] of Object.entries(example)) {
      assert.ok(k in got, `${path}.${k} missing in ${JSON.stringify(got)}`);
      sameShape((got as Record<string, unknown>)[k], v, `${path}.${k}`);
    }
  } else {
    assert.equal(typeof got, typeof example, `${path}: ${JSON.stringify(got)}`);
  }
}

/** `got.data`'s field names are the example's plus exactly `extra` (documented extensions). */
function sameFields(got: Frame, example: string, extra: string[] = [], shape = true): void {
  const want = spec(example);
  assert.equal(got.type, want.type, JSON.stringify(got));
  assert.deepEqual(
    Object.keys(got.data as object).sort(),
    [...Object.keys(want.data as object), ...extra].sort(),
    `${want.type as string} fields: ${JSON.stringify(got)}`,
  );
  if (shape) sameShape(got.data, want.data, want.type as string);
}

describe('specs/meeting-sfu.md, verbatim, on a default server', () => {
  let srv: TestServer;
  const open: Wire[] = [];
  before(async () => {
    srv = await startMeetingServer();
  });
  after(async () => {
    for (const w of open) w.close();
    await srv.close();
  });

  const carriers: Array<[string, (user: string) => Promise<Wire>]> = [
    ['/ws/meeting', async (user) => wsWire(await meetingWs(srv, user))],
    ['socket.io', async (user) => sioWire(await SioClient.open(srv, user))],
  ];

  for (const [name, connect] of carriers) {
    test(`${name}: every example of the spec, two participants`, async () => {
      const A = `anna-${name.length}`;
      const B = `ben-${name.length}`;
      const meetingId = await createMeeting(srv, A);
      await joinMeeting(srv, meetingId, A, B);
      const anna = await connect(A);
      const ben = await connect(B);
      open.push(anna, ben);
      const ids: Ids = { meetingId };
      const play = (w: Wire, frame: string, want: string, more: Ids = {}) =>
        w.play(substitute(frame, { ...ids, ...more }), want);

      // REST: media-config, the spec's path with the meeting's id.
      const cfg = await rest(srv, A, 'GET', MEDIA_CONFIG_PATH.replace(SPEC_MEETING, meetingId));
      assert.equal(cfg.status, 200, JSON.stringify(cfg.body));
      const cfgSpec = spec(MEDIA_CONFIG);
      assert.deepEqual(Object.keys(cfg.body).sort(), Object.keys(cfgSpec).sort());
      assert.equal(cfg.body.code, 0);
      assert.equal(cfg.body.message, 'success');
      assert.deepEqual(Object.keys(cfg.body.data as object), ['iceServers']);
      // A default server hands out no ICE servers (loopback and LAN need none; config `ice`,
      // README): the spec's STUN/TURN entries are checked on a configured server below.
      assert.deepEqual(cfg.body.data, { iceServers: [] });

      // 2. capabilities (before joining, as the spec's Device flow does).
      const caps = await play(anna, GET_CAPS, 'rtc:routerRtpCapabilities');
      // Gap: the spec's example names a header extension's id `id`; mediasoup (and so
      // mediasoup-client's Device.load(), which the spec's own SDK section calls with these
      // capabilities) names it `preferredId`. The server sends mediasoup's shape, so `id` is
      // left out of the shape check and `preferredId` checked below.
      sameFields(caps, CAPS.replace(',\n          "id": 1', ''));
      const rtpCaps = caps.data.rtpCapabilities as Frame;
      for (const c of spec(CAPS).data.rtpCapabilities.codecs as Frame[]) {
        const got = (rtpCaps.codecs as Frame[]).find((x) => x.mimeType === c.mimeType);
        assert.ok(got, `router codec ${c.mimeType as string}`);
        for (const [k, v] of Object.entries(c)) assert.equal(got[k], v, `${c.mimeType}.${k}`);
      }
      // The spec's SignalingRequest may carry a requestId; its SignalingResponse echoes it.
      const withId = JSON.stringify({ ...spec(GET_CAPS), data: { meetingId }, requestId: 'r-1' });
      const echoed = await anna.play(withId, 'rtc:routerRtpCapabilities');
      assert.equal(echoed.type, 'rtc:routerRtpCapabilities');
      assert.equal(echoed.requestId, 'r-1');
      assert.deepEqual(echoed.data, caps.data);
      const mid = (rtpCaps.headerExtensions as Frame[]).find(
        (h) => h.uri === 'urn:ietf:params:rtp-hdrext:sdes:mid',
      );
      assert.equal(typeof mid?.preferredId, 'number', 'the sdes:mid header extension');
      assert.equal(mid?.id, undefined, "gap: the spec's `id` is `preferredId`");

      // 1. join: Anna into an empty room, then Ben; Anna hears rtc:peerJoined.
      const aJoined = await play(anna, JOIN, 'rtc:joined');
      // Extension: activeSpeaker, the dominant speaker already named (none here).
      sameFields(aJoined, JOINED, ['activeSpeaker'], false); // an empty room: peers []
      assert.equal(aJoined.data.activeSpeaker, null);
      const annaPeer = aJoined.data.peerId as string;
      assert.ok(isString(annaPeer));
      assert.deepEqual(aJoined.data.peers, []);
      const bJoined = await play(ben, JOIN, 'rtc:joined');
      sameFields(bJoined, JOINED, ['activeSpeaker'], false); // Anna without producers (below)
      const benPeer = bJoined.data.peerId as string;
      assert.ok(isString(benPeer) && benPeer !== annaPeer);
      const peerJoined = await anna.event('rtc:peerJoined');
      sameFields(peerJoined, PEER_JOINED, ['meetingId']);
      assert.deepEqual(peerJoined.data, { meetingId, peerId: benPeer, userId: B, nickname: B });
      // The first peer's view of Ben (no producers yet).
      const annaInBen = (bJoined.data.peers as Frame[]).find((p) => p.peerId === annaPeer);
      assert.ok(annaInBen);
      assert.equal(annaInBen.userId, A);
      assert.equal(annaInBen.nickname, A);

      // 3./4. Anna's send transport.
      const sendT = await play(anna, CREATE_TRANSPORT, 'rtc:transportCreated');
      sameFields(sendT, TRANSPORT_CREATED);
      const sendId = sendT.data.transportId as string;
      assert.ok(isString(sendId));
      assert.equal(sendT.data.dtlsParameters.role, 'auto');
      assert.equal(sendT.data.iceCandidates[0].protocol, 'udp');
      assert.equal(sendT.data.iceCandidates[0].type, 'host');
      assert.ok(
        (sendT.data.dtlsParameters.fingerprints as Frame[]).some((f) => f.algorithm === 'sha-256'),
      );
      const connected = await play(anna, CONNECT_TRANSPORT, 'rtc:transportConnected', {
        transportId: sendId,
      });
      sameFields(connected, TRANSPORT_CONNECTED);
      assert.deepEqual(connected.data, { transportId: sendId });

      // 5. produce; Ben hears rtc:newProducer.
      const produced = await play(anna, PRODUCE, 'rtc:produced', { transportId: sendId });
      sameFields(produced, PRODUCED);
      const producerId = produced.data.producerId as string;
      assert.ok(isString(producerId));
      const newProducer = await ben.event('rtc:newProducer');
      sameFields(newProducer, NEW_PRODUCER, ['meetingId', 'paused']);
      assert.deepEqual(newProducer.data, {
        meetingId,
        producerId,
        peerId: annaPeer,
        kind: 'video',
        appData: { source: 'camera' },
        paused: false,
      });

      // 8. Ben leaves and comes back: rtc:left, rtc:peerLeft, and the spec's rtc:joined with a
      // peer that has producers.
      const left = await play(ben, LEAVE, 'rtc:left');
      sameFields(left, LEFT);
      assert.deepEqual(left.data, { peerId: benPeer });
      const benLeft = await anna.event('rtc:peerLeft');
      sameFields(benLeft, PEER_LEFT, ['meetingId']);
      assert.deepEqual(benLeft.data, { meetingId, peerId: benPeer, userId: B });
      const again = await play(ben, JOIN, 'rtc:joined');
      sameFields(again, JOINED, ['activeSpeaker']);
      const ben2 = again.data.peerId as string;
      assert.ok(isString(ben2));
      assert.equal((await anna.event('rtc:peerJoined')).data.peerId, ben2);
      assert.equal((again.data.peers as Frame[]).length, 1);
      const annaView = (again.data.peers as Frame[])[0]!;
      // Extensions: dataProducers on the peer, paused on each producer.
      assert.deepEqual(Object.keys(annaView).sort(), [
        'dataProducers',
        'nickname',
        'peerId',
        'producers',
        'userId',
      ]);
      sameShape(annaView, spec(JOINED).data.peers[0], 'rtc:joined.peers[0]');
      assert.deepEqual(annaView.producers, [
        { id: producerId, kind: 'video', appData: { source: 'camera' }, paused: false },
      ]);

      // Ben's recv transport (the spec's createTransport with "recv", as its comment allows).
      const recvT = await play(
        ben,
        CREATE_TRANSPORT.replace('"direction": "send"', '"direction": "recv"'),
        'rtc:transportCreated',
      );
      sameFields(recvT, TRANSPORT_CREATED);
      const recvId = recvT.data.transportId as string;
      assert.ok(isString(recvId) && recvId !== sendId);
      const recvConnected = await play(ben, CONNECT_TRANSPORT, 'rtc:transportConnected', {
        transportId: recvId,
      });
      assert.deepEqual(recvConnected.data, { transportId: recvId });

      // 6. consume. The spec's example offers only Opus in rtpCapabilities: a video producer
      // cannot be consumed with that (mediasoup's canConsume() is false), so the verbatim
      // frame is refused with 40001 (the spec's "请求参数格式错误"). The nearest valid frame
      // is the same one with the client's real capabilities (a Device loaded with the
      // router's, i.e. what `device.rtpCapabilities` would send).
      const refused = await play(ben, CONSUME, 'rtc:consumed', { producerId });
      assert.equal(refused.type, 'rtc:error', JSON.stringify(refused));
      assert.equal(refused.code, 40001, JSON.stringify(refused));
      assert.equal(typeof refused.error, 'string', "the spec's SignalingResponse.error");
      const consumeValid = JSON.stringify({
        ...JSON.parse(substitute(CONSUME, { ...ids, producerId })),
        data: { ...spec(CONSUME).data, meetingId, producerId, rtpCapabilities: rtpCaps },
      });
      const consumed = await ben.play(consumeValid, 'rtc:consumed');
      // Gap: the spec's example gives the consumer's encoding a `rid` ("r2"); mediasoup sends
      // a simulcast consumer as one plain stream (`ssrc`, `rtx`, `scalabilityMode` "L3T3"),
      // with no rid, and mediasoup-client's recvTransport.consume() expects exactly that. So
      // `rid` is left out of the shape check; the rest is the example's.
      sameFields(consumed, CONSUMED.replace(',\n          "rid": "r2"', ''), ['id', 'appData']);
      const encoding = consumed.data.rtpParameters.encodings[0] as Frame;
      assert.equal(typeof encoding.ssrc, 'number');
      assert.equal(encoding.rid, undefined, 'gap: no rid on a consumer');
      const consumerId = consumed.data.consumerId as string;
      assert.ok(isString(consumerId));
      assert.equal(consumed.data.id, consumerId);
      assert.equal(consumed.data.producerId, producerId);
      assert.equal(consumed.data.kind, 'video');
      assert.equal(consumed.data.type, 'simulcast');
      assert.equal(consumed.data.producerPaused, false);
      assert.deepEqual(consumed.data.appData, { source: 'camera' });
      assert.equal(consumed.data.rtpParameters.codecs[0].mimeType, 'video/VP8');
      assert.equal(consumed.data.rtpParameters.codecs[0].clockRate, 90000);

      // 7. resume.
      const resumed = await play(ben, RESUME_CONSUMER, 'rtc:consumerResumed', { consumerId });
      sameFields(resumed, CONSUMER_RESUMED);
      assert.deepEqual(resumed.data, { consumerId });

      // 8./10./12. Anna leaves: Ben gets rtc:producerClosed, then rtc:peerLeft.
      const annaLeft = await play(anna, LEAVE, 'rtc:left');
      assert.deepEqual(annaLeft.data, { peerId: annaPeer });
      const closed = await ben.event('rtc:producerClosed');
      sameFields(closed, PRODUCER_CLOSED, ['meetingId']);
      assert.deepEqual(closed.data, { meetingId, producerId, peerId: annaPeer });
      const annaGone = await ben.event('rtc:peerLeft');
      sameFields(annaGone, PEER_LEFT, ['meetingId']);
      assert.deepEqual(annaGone.data, { meetingId, peerId: annaPeer, userId: A });

      // 13. Anna (the host) rejoins and ends the meeting through REST: both peers hear it.
      const annaBack = await play(anna, JOIN, 'rtc:joined');
      assert.ok(isString(annaBack.data.peerId));
      await ben.event('rtc:peerJoined');
      const end = await rest(srv, A, 'POST', `/api/meetings/${meetingId}/end`);
      assert.equal(end.status, 200, JSON.stringify(end.body));
      for (const w of [anna, ben]) {
        const ended = await w.event('rtc:meetingEnded');
        sameFields(ended, MEETING_ENDED);
        assert.equal(ended.data.meetingId, meetingId);
        assert.equal(ended.data.endedBy, A);
        assert.ok(!Number.isNaN(Date.parse(ended.data.endedAt as string)), ended.data.endedAt);
        assert.equal(new Date(ended.data.endedAt as string).toISOString(), ended.data.endedAt);
      }

      // After the end: the spec's 40901 on rtc:join, 41001/410 on media-config.
      const late = await play(ben, JOIN, 'rtc:joined');
      assert.equal(late.type, 'rtc:error');
      assert.equal(late.code, 40901, JSON.stringify(late));
      const cfgEnded = await rest(srv, B, 'GET', `/api/meetings/${meetingId}/media-config`);
      assert.equal(cfgEnded.status, 410);
      assert.equal(cfgEnded.body.code, 41001);
      anna.close();
      ben.close();
    });
  }

  test("media-config with STUN and TURN configured: the spec's iceServers entries", async () => {
    // Not a default server: ICE servers are deployment config (`ice`), none by default.
    const ice = await startServer({
      ice: {
        stunUrls: ['stun:stun.l.google.com:19302', 'stun:stun1.l.google.com:19302'],
        turnUrls: ['turn:turn.example.com:3478'],
        turnSecret: 'coturn-static-secret',
      },
    });
    try {
      const meetingId = await createMeeting(ice, 'host');
      await joinMeeting(ice, meetingId, 'host');
      const r = await rest(ice, 'host', 'GET', MEDIA_CONFIG_PATH.replace(SPEC_MEETING, meetingId));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const want = spec(MEDIA_CONFIG);
      assert.deepEqual(Object.keys(r.body).sort(), Object.keys(want).sort());
      assert.equal(r.body.code, 0);
      assert.equal(r.body.message, 'success');
      const got = r.body.data.iceServers as Frame[];
      const wanted = want.data.iceServers as Frame[];
      assert.equal(got.length, wanted.length, JSON.stringify(got));
      for (const [i, w] of wanted.entries()) {
        // Same fields; urls by value; TURN's username/credential are ephemeral (strings).
        assert.deepEqual(Object.keys(got[i]!).sort(), Object.keys(w).sort(), JSON.stringify(got));
        assert.equal(got[i]!.urls, w.urls);
        sameShape(got[i], w, `iceServers[${i}]`);
      }
      // Not a participant: the spec's 40301 / 403.
      const stranger = await rest(ice, 'eve', 'GET', `/api/meetings/${meetingId}/media-config`);
      assert.equal(stranger.status, 403);
      assert.equal(stranger.body.code, 40301);
      // No such meeting: 40401 / 404.
      const missing = await rest(
        ice,
        'host',
        'GET',
        `/api/meetings/00000000-0000-4000-8000-000000000000/media-config`,
      );
      assert.equal(missing.status, 404);
      assert.equal(missing.body.code, 40401);
    } finally {
      await ice.close();
    }
  });
});
