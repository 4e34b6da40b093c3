import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_VALUE_DEPTH } from '@parley/protocol';
import { decodeChatMessage, encodeChatMessage } from '../src/gateway/dialects/chat-protobuf.ts';
import { startServer, type Frame, type TestClient, type TestServer } from './harness.ts';
import {
  SioClient,
  audioRtp,
  createMeeting,
  joinMeeting,
  meetingWs,
  startMeetingServer,
} from './meeting-kit.ts';

/**
 * Opaque client values (appData, relayed payloads, fields a schema lets through) nested deeper
 * than MAX_VALUE_DEPTH are refused when the frame is decoded, with a typed bad_request in the
 * sender's dialect and before any state changes. Before, a deep appData was stored and the next
 * response echoing it threw in JSON.stringify inside a promise, which ended the process.
 */

/** JSON text of an array nested `levels` deep (20,000 overflows JSON.stringify's stack). */
const deepJson = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);
const HUGE = 20_000;
/** A value just past the bound, which every client library can still encode. */
const justTooDeep = (): unknown => JSON.parse(deepJson(MAX_VALUE_DEPTH + 1)) as unknown;
const justDeepEnough = (): unknown => JSON.parse(deepJson(MAX_VALUE_DEPTH - 3)) as unknown;

describe('deep values in meeting requests (real SFU)', () => {
  let srv: TestServer;
  const sockets: TestClient[] = [];
  before(async () => {
    srv = await startMeetingServer({ limits: { rateBurst: 1000, maxFrameBytes: 65_536 } });
  });
  after(async () => {
    for (const c of sockets) c.close();
    await srv.close();
  });

  const ws = async (user: string, path = '/ws/meeting') => {
    const c = await meetingWs(srv, user, path);
    sockets.push(c);
    return c;
  };

  test('a deep appData is refused at rtc:produce; another peer then joins and the server is up', async () => {
    const id = await createMeeting(srv, 'ann');
    await joinMeeting(srv, id, 'ann', 'bob');
    const ann = await ws('ann');
    assert.equal((await ann.request('rtc:join', { meetingId: id })).type, 'rtc:joined');
    const t = await ann.request('rtc:createTransport', { meetingId: id, direction: 'send' });
    const transportId = (t.data as Frame).transportId as string;
    const produce = (appData: string, requestId: string) =>
      `{"type":"rtc:produce","requestId":"${requestId}","data":{"meetingId":"${id}",` +
      `"transportId":"${transportId}","kind":"audio",` +
      `"rtpParameters":${JSON.stringify(audioRtp(7001))},"appData":${appData}}}`;

    ann.send(produce(`{"x":${deepJson(HUGE)}}`, 'deep'));
    const refused = await ann.next((f) => f.requestId === 'deep');
    assert.equal(refused.type, 'rtc:error');
    assert.equal(refused.code, 40001);
    assert.match(refused.error as string, /deeper than 32/);

    // Data channels' appData is bounded the same way.
    ann.send(
      JSON.stringify({
        type: 'rtc:produceData',
        requestId: 'deep-data',
        data: {
          meetingId: id,
          transportId,
          sctpStreamParameters: { streamId: 1 },
          appData: { x: justTooDeep() },
        },
      }),
    );
    assert.equal((await ann.next((f) => f.requestId === 'deep-data')).code, 40001);

    // Nesting within the bound is kept and echoed.
    ann.send(produce(JSON.stringify({ x: justDeepEnough() }), 'fine'));
    const produced = await ann.next((f) => f.requestId === 'fine');
    assert.equal(produced.type, 'rtc:produced', JSON.stringify(produced));

    // The echo that used to end the process: another peer joins and sees the producers.
    const bob = await ws('bob');
    const joined = await bob.request('rtc:join', { meetingId: id });
    assert.equal(joined.type, 'rtc:joined', JSON.stringify(joined));
    const [peer] = (joined.data as Frame).peers as Frame[];
    assert.deepEqual(peer?.producers, [
      {
        id: (produced.data as Frame).producerId,
        kind: 'audio',
        appData: { x: justDeepEnough() },
        paused: false,
      },
    ]);
  });

  test('the native /ws endpoint refuses a deep appData with bad_request', async () => {
    const id = await createMeeting(srv, 'cid');
    await joinMeeting(srv, id, 'cid');
    const c = await ws('cid', '/ws');
    c.send(
      `{"type":"rtc:join","requestId":"n1","data":{"meetingId":"${id}","x":${deepJson(HUGE)}}}`,
    );
    const r = await c.next((f) => f.requestId === 'n1');
    assert.equal(r.type, 'error');
    assert.equal((r.error as Frame).code, 'bad_request');
    assert.equal((await c.request('rtc:join', { meetingId: id })).type, 'ok');
  });

  test('socket.io: a deep value is 40001, an oversized one 41301, and the socket stays', async () => {
    const id = await createMeeting(srv, 'dan');
    await joinMeeting(srv, id, 'dan');
    const dan = await SioClient.open(srv, 'dan');
    try {
      const deep = await dan.request('rtc:join', { meetingId: id, x: justTooDeep() });
      assert.equal(deep.type, 'rtc:error', JSON.stringify(deep));
      assert.equal(deep.code, 40001);
      const big = await dan.request('rtc:join', { meetingId: id, x: 'x'.repeat(70_000) });
      assert.equal(big.type, 'rtc:error', JSON.stringify(big));
      assert.equal(big.code, 41301);
      assert.equal((await dan.request('rtc:join', { meetingId: id })).type, 'rtc:joined');
    } finally {
      dan.close();
    }
  });
});

describe('deep values in relayed fields', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ limits: { rateBurst: 1000 } });
  });
  after(() => srv.close());

  const roomFrame = (requestId: string, cmd: string, data: string) =>
    `{"requestId":"${requestId}","module":"ROOM","cmd":"${cmd}","code":200,"msg":"success","data":${data}}`;

  test('ROOM: a deep WEBRTC_OFFER is a 400 and opens no connection between the pair', async () => {
    const eve = await srv.connect('eve', 'room', 'web', { grants: ['voice'] });
    const fox = await srv.connect('fox', 'room', 'web', { grants: ['voice'] });
    for (const c of [eve, fox]) {
      c.send(roomFrame(`j-${c === eve ? 'e' : 'f'}`, 'JOIN_ROOM', '{"roomId":"deep"}'));
      assert.equal((await c.next((f) => f.cmd === 'JOIN_ROOM')).code, 200);
    }
    eve.send(roomFrame('o1', 'WEBRTC_OFFER', `{"from":"eve","to":"fox","data":${deepJson(HUGE)}}`));
    const refused = await eve.next((f) => f.requestId === 'o1');
    assert.equal(refused.code, 400, JSON.stringify(refused));
    assert.match(refused.msg as string, /嵌套超过32层/);
    // No offer was recorded, so fox's answer has nothing to answer.
    fox.send(roomFrame('a1', 'WEBRTC_ANSWER', '{"from":"fox","to":"eve","data":{"sdp":"v=0"}}'));
    const answer = await fox.next((f) => f.requestId === 'a1');
    assert.deepEqual([answer.code, answer.msg], [1000, '没有对应的连接请求']);
  });

  test('native: a deep room:signal payload is bad_request and opens no connection', async () => {
    const gil = await srv.connect('gil');
    const hal = await srv.connect('hal');
    for (const c of [gil, hal]) {
      assert.equal((await c.request('room:join', { roomId: 'deep-n' })).type, 'ok');
    }
    gil.send(
      `{"type":"room:signal","requestId":"s1","data":{"to":"hal","kind":"offer","payload":${deepJson(HUGE)}}}`,
    );
    const refused = await gil.next((f) => f.requestId === 's1');
    assert.equal((refused.error as Frame).code, 'bad_request', JSON.stringify(refused));
    const answer = await hal.request('room:signal', { to: 'gil', kind: 'answer', payload: {} });
    assert.equal((answer.error as Frame).code, 'no_connection', JSON.stringify(answer));
  });

  test('video_call: deep extra fields are bad_request and nothing rings', async () => {
    const ida = await srv.connect('ida', 'video_call');
    const jon = await srv.connect('jon', 'video_call');
    ida.send(
      `{"type":"video_call","data":{"type":"call_request","caller_userid":"ida",` +
        `"callee_userid":"jon","x":${deepJson(HUGE)}}}`,
    );
    const refused = await ida.next((f) => f.type === 'video_call' && f.data?.type === 'error');
    assert.equal(refused.data.code, 'bad_request', JSON.stringify(refused));
    assert.deepEqual(await jon.quiet(), []);
  });

  test('chat-protobuf: deep signaling content is bad_request and nothing rings', async () => {
    const kim = await srv.connect('kim', 'chat');
    const lou = await srv.connect('lou', 'chat');
    kim.send(
      encodeChatMessage({
        from: 'kim',
        to: 'lou',
        contentType: 6,
        messageType: 1,
        type: 'call-invite',
        content: `{"type":"call-invite","x":${deepJson(HUGE)}}`,
      }),
    );
    const f = await kim.next((x) => Buffer.isBuffer(x.binary));
    const content = JSON.parse(decodeChatMessage(f.binary as Buffer).content) as Frame;
    assert.deepEqual([content.type, content.code], ['error', 'bad_request']);
    assert.deepEqual(await lou.quiet(), []);
  });
});
