import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Device, FakeHandler, testFakeParameters } from 'mediasoup-client';
import type { RtcEvent } from '@parley/protocol';
import { FakeError, FakeServer, fakeSignaling, type Handler } from '../../test/fake-server.ts';
import { RestApi } from '../rest.ts';
import { MeetingDevices } from './devices.ts';
import { Meeting, type MeetingEvents } from './meeting.ts';

/**
 * The meeting API on mediasoup-client's FakeHandler (no browser) against the fake endpoint:
 * join, receiving what is already published and what comes later, pauses, the active speaker,
 * peers leaving, a rebuild after a lost session, and the end.
 */

const MID = 'm-1';

/** An rtc event without its meetingId (each member of the union). */
type WithoutMeeting<T> = T extends unknown ? Omit<T, 'meetingId'> : never;

/** The fake REST API: join and media-config succeed; the calls are recorded. */
function fakeRest(calls: string[]): RestApi {
  const fetchFn = ((url: string, init?: RequestInit) => {
    calls.push(`${init?.method ?? 'GET'} ${new URL(url).pathname}`);
    const data = url.endsWith('/media-config') ? { iceServers: [] } : { meetingId: MID };
    return Promise.resolve(new Response(JSON.stringify({ code: 0, message: 'success', data })));
  }) as typeof fetch;
  return new RestApi('http://parley.test', () => 'jwt', fetchFn);
}

/** A Device on mediasoup-client's FakeHandler. */
const fakeDevice = () =>
  new Device({ handlerFactory: FakeHandler.createFactory(testFakeParameters) });

async function setup(devices = new MeetingDevices(fakeDevice)) {
  const server = new FakeServer();
  const kinds = new Map<string, 'audio' | 'video'>([
    ['ana-mic', 'audio'],
    ['ana-cam', 'video'],
  ]);
  let joins = 0;
  server
    .on('rtc:getRouterRtpCapabilities', () => ({
      rtpCapabilities: testFakeParameters.generateRouterRtpCapabilities(),
    }))
    .on('rtc:join', () => ({
      peerId: `me-${++joins}`,
      peers: [
        {
          peerId: 'ana-peer',
          userId: 'ana',
          nickname: 'Ana',
          producers: [
            { id: 'ana-mic', kind: 'audio', appData: { source: 'mic' }, paused: false },
            { id: 'ana-cam', kind: 'video', appData: { source: 'camera' }, paused: true },
          ],
          dataProducers: [],
        },
      ],
      activeSpeaker: { peerId: 'ana-peer', producerId: 'ana-mic' },
    }))
    .on('rtc:createTransport', () => {
      const t = testFakeParameters.generateTransportRemoteParameters();
      return { transportId: t.id, ...t };
    })
    .on('rtc:consume', (d) => {
      const kind = kinds.get(d.producerId as string) ?? 'video';
      const params = testFakeParameters.generateConsumerRemoteParameters({
        codecMimeType: kind === 'audio' ? 'audio/opus' : 'video/VP8',
      });
      return { ...params, consumerId: params.id, producerId: d.producerId };
    });
  const signaling = fakeSignaling(server);
  await signaling.connect();
  const rest: string[] = [];
  const meeting = new Meeting({
    meetingId: MID,
    signaling,
    rest: fakeRest(rest),
    nickname: 'Me',
    devices,
  });
  const log: Array<[keyof MeetingEvents, unknown]> = [];
  for (const e of [
    'peerJoined',
    'peerLeft',
    'trackAdded',
    'trackRemoved',
    'trackPaused',
    'activeSpeaker',
    'rejoined',
    'closed',
  ] as const) {
    meeting.on(e, (data?: unknown) => log.push([e, data]));
  }
  let seen = 0;
  const events = () => log.slice(seen, (seen = log.length)).map(([e]) => e);
  const push = (e: WithoutMeeting<RtcEvent>) => server.push({ meetingId: MID, ...e });
  return { server, signaling, meeting, rest, kinds, events, push, log };
}

describe('Meeting on mediasoup-client', () => {
  test("meetings sharing the client's devices load one Device: the second join loads none", async () => {
    let made = 0;
    const devices = new MeetingDevices(() => (made++, fakeDevice()));
    const first = await setup(devices);
    await first.meeting.join();
    const second = await setup(devices);
    await second.meeting.join();
    assert.equal(made, 1);
    // Each still asks its router: one with other capabilities would get a Device of its own.
    assert.equal(second.server.all('rtc:getRouterRtpCapabilities').length, 1);
    assert.equal(second.server.all('rtc:consume').length, 2);
  });

  test('join: REST, capabilities, rtc:join, two transports, and everything already published', async () => {
    const { server, meeting, rest, events } = await setup();
    await meeting.join();
    assert.deepEqual(rest, [
      `POST /api/meetings/${MID}/join`,
      `GET /api/meetings/${MID}/media-config`,
    ]);
    assert.deepEqual((await server.next('rtc:join')).data, { meetingId: MID });
    const transports = server.all('rtc:createTransport').map((f) => f.data.direction);
    assert.deepEqual(transports, ['send', 'recv']);
    const consumes = server.all('rtc:consume');
    assert.deepEqual(
      consumes.map((f) => f.data.producerId),
      ['ana-mic', 'ana-cam'],
    );
    assert.ok(consumes[0]!.data.rtpCapabilities, 'the device capabilities go with rtc:consume');
    assert.equal(server.all('rtc:resumeConsumer').length, 2);
    assert.equal(meeting.peerId, 'me-1');
    // The speaker the SFU named before this join is known at once, after its peer.
    assert.deepEqual(events(), ['peerJoined', 'trackAdded', 'trackAdded', 'activeSpeaker']);
    assert.equal(meeting.activeSpeaker, 'ana-peer');
    const ana = meeting.peers.get('ana-peer')!;
    assert.equal(ana.nickname, 'Ana');
    const tracks = [...ana.tracks.values()];
    assert.deepEqual(
      tracks.map((t) => [t.source, t.kind, t.paused]),
      [
        ['mic', 'audio', false],
        ['camera', 'video', true],
      ],
    );
    assert.ok(tracks[1]!.track, 'a track to render');
  });

  test('new producers are received as they appear; pauses, speaker, closes and leaves are told', async () => {
    const { server, meeting, kinds, events, push, log } = await setup();
    await meeting.join();
    events();
    push({ type: 'rtc:peerJoined', peerId: 'bo-peer', userId: 'bo', nickname: 'Bo' });
    kinds.set('bo-screen', 'video');
    push({
      type: 'rtc:newProducer',
      producerId: 'bo-screen',
      peerId: 'bo-peer',
      kind: 'video',
      appData: { source: 'screen' },
      paused: false,
    });
    await meeting.next('trackAdded');
    assert.deepEqual(events(), ['peerJoined', 'trackAdded']);
    assert.equal(meeting.peers.get('bo-peer')!.tracks.get('bo-screen')!.source, 'screen');

    push({ type: 'rtc:producerResumed', producerId: 'ana-cam', peerId: 'ana-peer' });
    push({ type: 'rtc:activeSpeaker', peerId: 'bo-peer', producerId: 'bo-mic' });
    push({ type: 'rtc:producerClosed', producerId: 'bo-screen', peerId: 'bo-peer' });
    push({ type: 'rtc:peerLeft', peerId: 'ana-peer', userId: 'ana' });
    // Another meeting's events are not this one's.
    server.push({ type: 'rtc:peerLeft', meetingId: 'other', peerId: 'bo-peer', userId: 'bo' });
    await server.settle();
    assert.deepEqual(events(), [
      'trackPaused',
      'activeSpeaker',
      'trackRemoved',
      'trackRemoved',
      'trackRemoved',
      'peerLeft',
    ]);
    assert.equal(meeting.activeSpeaker, 'bo-peer');
    push({ type: 'rtc:peerLeft', peerId: 'bo-peer', userId: 'bo' });
    await server.settle();
    assert.equal(meeting.activeSpeaker, null, 'the speaker left');
    events();
    const paused = log.find(([e]) => e === 'trackPaused')![1] as { paused: boolean };
    assert.equal(paused.paused, false);
    assert.deepEqual([...meeting.peers.keys()], []);
  });

  test("a speaker change during the join wins over the join's older snapshot", async () => {
    const { server, meeting } = await setup();
    server.on('rtc:join', () => {
      server.push({
        type: 'rtc:activeSpeaker',
        meetingId: MID,
        peerId: 'bo-peer',
        producerId: 'bo-mic',
      });
      return { peerId: 'me-1', peers: [], activeSpeaker: { peerId: 'ana-peer', producerId: 'a' } };
    });
    await meeting.join();
    assert.equal(meeting.activeSpeaker, 'bo-peer');
  });

  test('join asks for every producer already published at once', async () => {
    const { server, meeting, events } = await setup();
    // The answers wait until both requests are in: one at a time, the join would time out.
    const consume = server.handlers.get('rtc:consume')!;
    let both: () => void = () => undefined;
    const bothIn = new Promise<void>((r) => (both = r));
    let asked = 0;
    server.on('rtc:consume', async (d) => {
      if (++asked === 2) both();
      await bothIn;
      return consume(d);
    });
    await meeting.join();
    assert.deepEqual(events(), ['peerJoined', 'trackAdded', 'trackAdded', 'activeSpeaker']);
    assert.equal(meeting.peers.get('ana-peer')!.tracks.size, 2);
  });

  test("a publisher's new producers are asked for together", async () => {
    const { server, meeting, events, push, kinds } = await setup();
    await meeting.join();
    events();
    const seen = server.received.length;
    let added = 0;
    const bothAdded = new Promise<void>((r) =>
      meeting.on('trackAdded', () => ++added === 2 && r()),
    );
    push({ type: 'rtc:peerJoined', peerId: 'bo-peer', userId: 'bo', nickname: 'Bo' });
    kinds.set('bo-mic', 'audio');
    for (const [id, source] of [
      ['bo-mic', 'mic'],
      ['bo-cam', 'camera'],
    ] as const) {
      push({
        type: 'rtc:newProducer',
        producerId: id,
        peerId: 'bo-peer',
        kind: kinds.get(id) ?? 'video',
        appData: { source },
        paused: false,
      });
    }
    await bothAdded;
    assert.deepEqual(events(), ['peerJoined', 'trackAdded', 'trackAdded']);
    // Both asked for before either is resumed: made in one renegotiation.
    assert.deepEqual(
      server.received.slice(seen).map((f) => f.type),
      ['rtc:consume', 'rtc:consume', 'rtc:resumeConsumer', 'rtc:resumeConsumer'],
    );
    assert.deepEqual([...meeting.peers.get('bo-peer')!.tracks.keys()], ['bo-mic', 'bo-cam']);
  });

  test('a producer that closes while the join receives it is skipped; the rest is received', async () => {
    const { server, meeting, events, push } = await setup();
    const consume = server.handlers.get('rtc:consume')!;
    server.on('rtc:consume', (d) => {
      if (d.producerId !== 'ana-cam') return consume(d);
      push({ type: 'rtc:producerClosed', producerId: 'ana-cam', peerId: 'ana-peer' });
      throw new FakeError('not_found', 'producer not found');
    });
    await meeting.join();
    assert.deepEqual(events(), ['peerJoined', 'trackAdded', 'activeSpeaker']);
    assert.deepEqual([...meeting.peers.get('ana-peer')!.tracks.keys()], ['ana-mic']);
  });

  test('a pause or a close told while a consumer is made applies to its track', async () => {
    const { server, meeting, events, push } = await setup();
    const consume = server.handlers.get('rtc:consume')!;
    const producerOf = new Map<string, string>();
    server.on('rtc:consume', (d) => {
      const params = consume(d) as { id: string };
      producerOf.set(params.id, d.producerId as string);
      return params;
    });
    // Told after rtc:consume's answer, before the track is there to take it.
    const resume: Handler = (d) => {
      const producerId = producerOf.get(d.consumerId as string)!;
      if (producerId === 'ana-mic') {
        push({ type: 'rtc:producerPaused', producerId, peerId: 'ana-peer' });
      } else push({ type: 'rtc:producerClosed', producerId, peerId: 'ana-peer' });
      return { consumerId: d.consumerId };
    };
    server.on('rtc:resumeConsumer', resume);
    await meeting.join();
    assert.deepEqual(events(), ['peerJoined', 'trackAdded', 'activeSpeaker']);
    const tracks = meeting.peers.get('ana-peer')!.tracks;
    assert.deepEqual([...tracks.keys()], ['ana-mic']);
    assert.equal(tracks.get('ana-mic')!.paused, true);
  });

  test('a join that fails half-way leaves the media, so that the next one is not refused', async () => {
    const { server, meeting } = await setup();
    server.on('rtc:createTransport', () => {
      throw new FakeError('internal', 'no transport');
    });
    await assert.rejects(meeting.join(), /no transport/);
    assert.deepEqual(
      server.all('rtc:leave').map((f) => f.data),
      [{ meetingId: MID }],
    );
    assert.equal(meeting.active, false);
  });

  test("a peer that leaves before the join's answer comes is not in the meeting", async () => {
    const { server, meeting, events, push } = await setup();
    const join = server.handlers.get('rtc:join')!;
    server.on('rtc:join', (d) => {
      // The server's events overtake the answer, whose snapshot still has Ana.
      push({ type: 'rtc:producerClosed', producerId: 'ana-mic', peerId: 'ana-peer' });
      push({ type: 'rtc:producerClosed', producerId: 'ana-cam', peerId: 'ana-peer' });
      push({ type: 'rtc:peerLeft', peerId: 'ana-peer', userId: 'ana' });
      return join(d);
    });
    await meeting.join();
    assert.deepEqual(events(), []);
    assert.deepEqual([...meeting.peers.keys()], []);
    assert.equal(meeting.activeSpeaker, null);
    assert.equal(server.all('rtc:consume').length, 0);
  });

  test('a lost session rebuilds the media; the end closes it', async () => {
    const { server, signaling, meeting, events, push } = await setup();
    await meeting.join();
    events();
    server.resumes = false;
    const rejoined = meeting.next('rejoined');
    server.drop();
    await signaling.next('sessionLost');
    await rejoined;
    assert.equal(meeting.peerId, 'me-2');
    assert.deepEqual(events(), [
      'trackRemoved',
      'trackRemoved',
      'peerLeft',
      'peerJoined',
      'trackAdded',
      'trackAdded',
      'activeSpeaker',
      'rejoined',
    ]);
    assert.equal(server.all('rtc:join').length, 2);
    push({ type: 'rtc:meetingEnded', endedBy: 'host', endedAt: new Date(0).toISOString() });
    await server.settle();
    assert.equal(meeting.active, false);
    assert.equal(events().at(-1), 'closed');
  });

  test('leave() leaves the media and the meeting', async () => {
    const { server, meeting, rest, events } = await setup();
    await meeting.join();
    events();
    await meeting.leave();
    assert.deepEqual((await server.next('rtc:leave')).data, { meetingId: MID });
    assert.equal(rest.at(-1), `POST /api/meetings/${MID}/leave`);
    assert.equal(events().at(-1), 'closed');
    assert.equal(meeting.active, false);
  });
});
