import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { until, type TestClient, type TestServer } from './harness.ts';
import {
  audioRtp,
  createMeeting,
  joinMeeting,
  meetingWs,
  startMeetingServer,
  videoRtp,
  wsSignaling,
  type Signaling,
} from './meeting-kit.ts';

/**
 * A meeting spread over the two workers of one node, driven through rtc:* signaling on the real
 * SFU: placement within the consumer budget, producers piped lazily and once, unpiped with their
 * last consumer, the active speaker observer fed through a pipe, and a worker that dies taking
 * only its own peers' media. Decoded media across workers: meetings-workers-browser.test.ts.
 */

const SCTP = { numStreams: { OS: 1024, MIS: 1024 } };

let srv: TestServer;
const sockets: TestClient[] = [];

before(async () => {
  // A budget of one consumer per worker: the third peer of a meeting spreads it.
  srv = await startMeetingServer(
    { limits: { rateBurst: 1000 } },
    { workers: 2, consumersPerWorker: 1 },
  );
});
after(async () => {
  for (const c of sockets) c.close();
  await srv.close();
});

async function ok(sig: Signaling, type: string, data: unknown, want: string) {
  const r = await sig.request(type, data);
  assert.equal(r.type, want, `${type} → ${JSON.stringify(r)}`);
  return r.data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A peer of the meeting: its socket, signaling, id, and (once asked) its transports. */
interface P {
  c: TestClient;
  sig: Signaling;
  peerId: string;
  caps: unknown;
  send?: string;
  recv?: string;
}

async function peer(user: string, meetingId: string): Promise<P> {
  const c = await meetingWs(srv, user);
  sockets.push(c);
  const sig = wsSignaling(c);
  const caps = await ok(
    sig,
    'rtc:getRouterRtpCapabilities',
    { meetingId },
    'rtc:routerRtpCapabilities',
  );
  const j = await ok(sig, 'rtc:join', { meetingId }, 'rtc:joined');
  return { c, sig, peerId: j.peerId as string, caps: caps.rtpCapabilities };
}

async function transport(p: P, meetingId: string, direction: 'send' | 'recv'): Promise<string> {
  const t = await ok(
    p.sig,
    'rtc:createTransport',
    { meetingId, direction, sctpCapabilities: SCTP },
    'rtc:transportCreated',
  );
  return t.transportId as string;
}

/** parley_meeting_pipes as /metrics has it. */
async function pipesMetric(): Promise<number> {
  const text = await srv.app.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith('parley_meeting_pipes '));
  return Number(line?.split(' ')[1]);
}

test('peers fill a worker, then spread; producers are piped once, lazily, and unpiped with their last consumer', async () => {
  const id = await createMeeting(srv, 'anna');
  await joinMeeting(srv, id, 'anna', 'ben', 'cleo', 'dave');
  const layout = () => srv.app.rtc.layout(id)!;
  const consumersOn = (pid: number) => srv.app.sfu.workers().find((w) => w.pid === pid)?.consumers;
  const routerOf = (p: P) => layout().routers.findIndex((r) => r.peers.includes(p.peerId));

  const anna = await peer('anna', id);
  const send = await transport(anna, id, 'send');
  const video = await ok(
    anna.sig,
    'rtc:produce',
    { meetingId: id, transportId: send, kind: 'video', rtpParameters: videoRtp(), appData: {} },
    'rtc:produced',
  );
  const chat = await ok(
    anna.sig,
    'rtc:produceData',
    {
      meetingId: id,
      transportId: send,
      sctpStreamParameters: { streamId: 0, ordered: true },
      label: 'chat',
    },
    'rtc:dataProduced',
  );

  // Ben fits on Anna's worker (0 consumers + her 1 producer ≤ 1).
  const ben = await peer('ben', id);
  await ok(
    ben.sig,
    'rtc:consume',
    {
      meetingId: id,
      producerId: video.producerId,
      rtpCapabilities: ben.caps,
      transportId: await transport(ben, id, 'recv'),
    },
    'rtc:consumed',
  );
  assert.equal(layout().routers.length, 1);
  const first = layout().routers[0]!.workerPid;
  assert.equal(consumersOn(first), 1);

  // Cleo does not: the meeting spreads to a router on the other worker.
  const cleo = await peer('cleo', id);
  assert.equal(layout().routers.length, 2);
  assert.equal(routerOf(cleo), 1);
  const second = layout().routers[1]!.workerPid;
  assert.notEqual(second, first, 'on the other worker');
  assert.equal(layout().pipes, 0, 'nothing is piped before a consumer needs it');
  const cleoRecv = await transport(cleo, id, 'recv');
  const piped = await ok(
    cleo.sig,
    'rtc:consume',
    {
      meetingId: id,
      producerId: video.producerId,
      rtpCapabilities: cleo.caps,
      transportId: cleoRecv,
    },
    'rtc:consumed',
  );
  assert.equal(piped.type, 'simulcast', 'the layers come through the pipe');
  assert.equal(layout().pipes, 1);

  // Both workers are over budget now: Dave joins the meeting's router on the least loaded one.
  const dave = await peer('dave', id);
  assert.equal(layout().routers.length, 2, 'no third router on two workers');
  assert.equal(routerOf(dave), 1);
  const daveRecv = await transport(dave, id, 'recv');
  const daves = await ok(
    dave.sig,
    'rtc:consume',
    {
      meetingId: id,
      producerId: video.producerId,
      rtpCapabilities: dave.caps,
      transportId: daveRecv,
    },
    'rtc:consumed',
  );
  assert.equal(layout().pipes, 1, 'a second consumer there uses the same pipe');
  assert.equal(await pipesMetric(), 1, 'parley_meeting_pipes');
  assert.equal(consumersOn(first), 2, "Ben's consumer and one pipe consumer");
  const consumerId = daves.consumerId as string;
  await ok(
    dave.sig,
    'rtc:requestConsumerKeyFrame',
    { meetingId: id, consumerId },
    'rtc:consumerKeyFrameRequested',
  );
  await ok(
    dave.sig,
    'rtc:setConsumerPreferredLayers',
    { meetingId: id, consumerId, spatialLayer: 0 },
    'rtc:consumerPreferredLayersSet',
  );
  await ok(dave.sig, 'rtc:getConsumerStats', { meetingId: id, consumerId }, 'rtc:consumerStats');

  // Data channels cross too.
  const data = await ok(
    cleo.sig,
    'rtc:consumeData',
    { meetingId: id, dataProducerId: chat.dataProducerId, transportId: cleoRecv },
    'rtc:dataConsumed',
  );
  assert.equal(data.label, 'chat');
  const pipesWithData = layout().pipes;

  // Cleo's microphone is piped to the active speaker observer's router (Anna's).
  const cleoSend = await transport(cleo, id, 'send');
  const mic = await ok(
    cleo.sig,
    'rtc:produce',
    {
      meetingId: id,
      transportId: cleoSend,
      kind: 'audio',
      rtpParameters: audioRtp(4242),
      appData: {},
    },
    'rtc:produced',
  );
  assert.equal(layout().speakerRouterId, layout().routers[0]!.routerId);
  assert.equal(layout().pipes, pipesWithData + 1, 'the microphone piped to the observer');
  await ok(
    ben.sig,
    'rtc:consume',
    { meetingId: id, producerId: mic.producerId, rtpCapabilities: ben.caps },
    'rtc:consumed',
  );
  assert.equal(layout().pipes, pipesWithData + 1, "Ben's consumer shares the observer's pipe");

  // Pausing reaches the peers of the other router (the pipe's own pause: pipes.test.ts).
  await ok(
    anna.sig,
    'rtc:pauseProducer',
    { meetingId: id, producerId: video.producerId },
    'rtc:producerPaused',
  );
  assert.equal((await cleo.sig.event('rtc:producerPaused')).data.producerId, video.producerId);

  // Cleo leaves: her microphone's pipe goes; Anna's video stays piped while Dave consumes it.
  await ok(cleo.sig, 'rtc:leave', { meetingId: id }, 'rtc:left');
  await until("Cleo's pipes released", () => layout().pipes === 1);
  await ok(dave.sig, 'rtc:leave', { meetingId: id }, 'rtc:left');
  await until('the last consumer unpipes', () => layout().pipes === 0);
  assert.equal(await pipesMetric(), 0, 'parley_meeting_pipes');
  assert.equal(layout().routers.length, 1, 'the router nobody uses closed');
  await until('the pipe consumers closed', () => consumersOn(first) === 1);

  // The meeting's media empties (its first router stays for the grace period).
  for (const p of [anna, ben]) await ok(p.sig, 'rtc:leave', { meetingId: id }, 'rtc:left');
  await until('no streams left', () => srv.app.sfu.workers().every((w) => w.streams === 0));
});

test('a worker that dies resets only its own peers; the others keep the meeting', async () => {
  const id = await createMeeting(srv, 'eve');
  await joinMeeting(srv, id, 'eve', 'finn', 'gus');
  const layout = () => srv.app.rtc.layout(id)!;
  const eve = await peer('eve', id);
  const eveSend = await transport(eve, id, 'send');
  const eveVideo = await ok(
    eve.sig,
    'rtc:produce',
    { meetingId: id, transportId: eveSend, kind: 'video', rtpParameters: videoRtp(), appData: {} },
    'rtc:produced',
  );
  const finn = await peer('finn', id);
  await ok(
    finn.sig,
    'rtc:consume',
    {
      meetingId: id,
      producerId: eveVideo.producerId,
      rtpCapabilities: finn.caps,
      transportId: await transport(finn, id, 'recv'),
    },
    'rtc:consumed',
  );
  const gus = await peer('gus', id);
  // Whatever the first test left on the workers, Gus sits on another router than Eve.
  const gusRouter = layout().routers.find((r) => r.peers.includes(gus.peerId))!;
  const eveRouter = layout().routers.find((r) => r.peers.includes(eve.peerId))!;
  assert.notEqual(gusRouter.workerPid, eveRouter.workerPid);
  const gusSend = await transport(gus, id, 'send');
  const gusVideo = await ok(
    gus.sig,
    'rtc:produce',
    { meetingId: id, transportId: gusSend, kind: 'video', rtpParameters: videoRtp(), appData: {} },
    'rtc:produced',
  );
  await ok(
    eve.sig,
    'rtc:consume',
    {
      meetingId: id,
      producerId: gusVideo.producerId,
      rtpCapabilities: eve.caps,
      transportId: await transport(eve, id, 'recv'),
    },
    'rtc:consumed',
  );
  assert.ok(layout().pipes >= 1);

  process.kill(gusRouter.workerPid, 'SIGKILL');
  assert.deepEqual((await gus.sig.event('rtc:mediaReset', 20_000)).data, {
    meetingId: id,
    reason: 'worker_died',
  });
  for (const p of [eve, finn]) {
    const closed = await p.sig.event('rtc:producerClosed', 20_000);
    assert.deepEqual(closed.data, {
      meetingId: id,
      producerId: gusVideo.producerId,
      peerId: gus.peerId,
    });
    assert.equal((await p.sig.event('rtc:peerLeft', 20_000)).data.peerId, gus.peerId);
    // Their media goes on: their requests work, and no reset came before the answer.
    await ok(p.sig, 'rtc:getRouterRtpCapabilities', { meetingId: id }, 'rtc:routerRtpCapabilities');
    assert.equal(p.c.frames.filter((f) => f.type === 'rtc:mediaReset').length, 0);
  }
  await ok(
    eve.sig,
    'rtc:getProducerStats',
    { meetingId: id, producerId: eveVideo.producerId },
    'rtc:producerStats',
  );
  assert.equal(srv.app.rtc.has(id), true, 'the meeting goes on');
  assert.ok(layout().routers.every((r) => r.workerPid !== gusRouter.workerPid));

  // Gus rejoins, on a live worker (the replacement), and gets Eve's video again.
  await until(
    'the replacement worker',
    () => srv.app.sfu.workers().filter((w) => w.pid !== gusRouter.workerPid).length === 2,
  );
  const again = await ok(gus.sig, 'rtc:join', { meetingId: id }, 'rtc:joined');
  assert.notEqual(again.peerId, gus.peerId);
  await ok(
    gus.sig,
    'rtc:consume',
    {
      meetingId: id,
      producerId: eveVideo.producerId,
      rtpCapabilities: gus.caps,
      transportId: await transport(gus, id, 'recv'),
    },
    'rtc:consumed',
  );

  for (const p of [eve, finn, gus]) await ok(p.sig, 'rtc:leave', { meetingId: id }, 'rtc:left');
  await until('no streams left', () => srv.app.sfu.workers().every((w) => w.streams === 0));
});

test("the active speaker observer moves when its router's worker dies", async () => {
  const id = await createMeeting(srv, 'hana');
  await joinMeeting(srv, id, 'hana', 'ivan', 'jo');
  const layout = () => srv.app.rtc.layout(id)!;
  const hana = await peer('hana', id);
  const video = await ok(
    hana.sig,
    'rtc:produce',
    {
      meetingId: id,
      transportId: await transport(hana, id, 'send'),
      kind: 'video',
      rtpParameters: videoRtp(),
      appData: {},
    },
    'rtc:produced',
  );
  const ivan = await peer('ivan', id);
  await ok(
    ivan.sig,
    'rtc:consume',
    {
      meetingId: id,
      producerId: video.producerId,
      rtpCapabilities: ivan.caps,
      transportId: await transport(ivan, id, 'recv'),
    },
    'rtc:consumed',
  );
  const jo = await peer('jo', id);
  const [home, other] = layout().routers;
  assert.deepEqual(other?.peers, [jo.peerId], 'Jo spread the meeting');
  assert.equal(layout().speakerRouterId, home!.routerId);
  await ok(
    jo.sig,
    'rtc:produce',
    {
      meetingId: id,
      transportId: await transport(jo, id, 'send'),
      kind: 'audio',
      rtpParameters: audioRtp(777),
      appData: {},
    },
    'rtc:produced',
  );
  assert.equal(layout().pipes, 1, "Jo's microphone piped to the observer");

  process.kill(home!.workerPid, 'SIGKILL');
  for (const p of [hana, ivan]) await p.sig.event('rtc:mediaReset', 20_000);
  assert.equal(
    (await jo.sig.event('rtc:producerClosed', 20_000)).data.producerId,
    video.producerId,
  );
  await until("the observer on Jo's router", () => layout().speakerRouterId === other.routerId);
  assert.equal(layout().routers.length, 1);
  assert.equal(layout().pipes, 0, "Jo's microphone needs no pipe any more");

  // Hana comes back, on Jo's router (it has room), and her microphone is watched there too.
  await ok(hana.sig, 'rtc:join', { meetingId: id }, 'rtc:joined');
  await ok(
    hana.sig,
    'rtc:produce',
    {
      meetingId: id,
      transportId: await transport(hana, id, 'send'),
      kind: 'audio',
      rtpParameters: audioRtp(778),
      appData: {},
    },
    'rtc:produced',
  );
  assert.equal(layout().routers.length, 1);
  assert.equal(layout().pipes, 0);
});
