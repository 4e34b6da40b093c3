import assert from 'node:assert/strict';
import { encodeChatMessage } from '../../src/gateway/dialects/chat-protobuf.ts';
import type { TestClient, Frame, TestServer } from '../harness.ts';
import {
  audioRtp,
  createMeeting,
  joinMeeting,
  meetingWs,
  rest,
  SioClient,
} from '../meeting-kit.ts';
import { readChat, readRest, readText, type Answer } from './answers.ts';
import type { FuzzDialect } from './world.ts';
import { deepJson } from './values.ts';

/**
 * Directed cases the random run reaches too rarely: deep values the server stores and echoes
 * later (a producer's appData in the next joiner's peer list), deep relayed payloads, NUL bytes
 * in ids and titles, numbers for strings, prototype-pollution keys, in every dialect. Each
 * asserts what the fuzzer asserts: answered, by its id where there is one, never `internal`,
 * the connection still up.
 */

/** One directed case. */
export interface DirectedCase {
  name: string;
  run(srv: TestServer): Promise<void>;
}

/** A deep array that, with the rest of a frame, still fits 64 KiB. */
const DEEP = deepJson(30_000, 'array');

let seq = 0;
const nextId = (): string => `d${++seq}`;

/** Reads a JSON frame a TestClient parsed, in `dialect`'s terms. */
const read = (dialect: FuzzDialect, f: Frame): Answer => readText(dialect, JSON.stringify(f));

/** Neither internal nor a dropped connection. */
function sane(c: TestClient, dialect: FuzzDialect, f: Frame, what: string): Answer {
  const a = read(dialect, f);
  assert.equal(a.internal, false, `${what}: internal error ${JSON.stringify(f)}`);
  assert.equal(c.closed, null, `${what}: connection closed ${JSON.stringify(c.closed)}`);
  return a;
}

/** Sends raw JSON text with a fresh requestId spliced in first; resolves with its answer. */
async function request(c: TestClient, dialect: FuzzDialect, json: string, what: string) {
  const requestId = nextId();
  c.send(`{"requestId":"${requestId}",${json.slice(1)}`);
  const f = await c.next((x) => x.requestId === requestId, 10_000);
  return { frame: f, answer: sane(c, dialect, f, what) };
}

/** A meeting with `users` joined over REST, and a signaling socket for each that rtc:joined. */
async function meetingOf(srv: TestServer, ...users: string[]) {
  const meetingId = await createMeeting(srv, users[0]!);
  await joinMeeting(srv, meetingId, ...users);
  return meetingId;
}

/** Checks that a peer can join `meetingId` over WebSocket and socket.io and is answered. */
async function joinersAreAnswered(srv: TestServer, meetingId: string, ws: string, sio: string) {
  const b = await meetingWs(srv, ws);
  const joined = await request(
    b,
    'meeting',
    `{"type":"rtc:join","data":{"meetingId":"${meetingId}"}}`,
    'rtc:join',
  );
  assert.equal(joined.frame.type, 'rtc:joined', JSON.stringify(joined.frame));
  const c = await SioClient.open(srv, sio);
  const ack = await c.request('rtc:join', { meetingId });
  assert.notEqual(ack.code, 50001, `socket.io rtc:join: ${JSON.stringify(ack)}`);
  assert.equal(ack.type, 'rtc:joined', JSON.stringify(ack));
  b.close();
  c.close();
}

const cases: DirectedCase[] = [
  {
    name: 'deep appData in rtc:produce and rtc:produceData, then peers join and get the list',
    async run(srv) {
      const meetingId = await meetingOf(srv, 'dp-a', 'dp-b', 'dp-c');
      const a = await meetingWs(srv, 'dp-a');
      const m = `"meetingId":"${meetingId}"`;
      await request(a, 'meeting', `{"type":"rtc:join","data":{${m}}}`, 'rtc:join');
      const t = await request(
        a,
        'meeting',
        `{"type":"rtc:createTransport","data":{${m},"direction":"send","sctpCapabilities":{"numStreams":{"OS":1024,"MIS":1024}}}}`,
        'rtc:createTransport',
      );
      const transportId = t.frame.data.transportId as string;
      const rtp = JSON.stringify(audioRtp(4242));
      const produced = await request(
        a,
        'meeting',
        `{"type":"rtc:produce","data":{${m},"transportId":"${transportId}","kind":"audio","rtpParameters":${rtp},"appData":{"x":${DEEP}}}}`,
        'rtc:produce with deep appData',
      );
      const dataProduced = await request(
        a,
        'meeting',
        `{"type":"rtc:produceData","data":{${m},"transportId":"${transportId}","sctpStreamParameters":{"streamId":1},"appData":{"x":${DEEP}}}}`,
        'rtc:produceData with deep appData',
      );
      // Refused at decode (40001): nothing deep is stored to be echoed later.
      for (const r of [produced, dataProduced]) {
        assert.equal(r.answer.error, '40001', JSON.stringify(r.frame));
      }
      await joinersAreAnswered(srv, meetingId, 'dp-b', 'dp-c');
      a.close();
    },
  },
  {
    name: 'deep payload in native room:signal',
    async run(srv) {
      const [a, b] = [await srv.connect('ds-a'), await srv.connect('ds-b')];
      for (const c of [a, b])
        await request(c, 'native', '{"type":"room:join","data":{"roomId":"ds"}}', 'room:join');
      const signal = await request(
        a,
        'native',
        `{"type":"room:signal","data":{"to":"ds-b","kind":"offer","payload":${DEEP}}}`,
        'room:signal with a deep payload',
      );
      assert.equal(signal.answer.error, 'bad_request', JSON.stringify(signal.frame));
      // The connection still works.
      await request(a, 'native', '{"type":"room:members","data":{"roomId":"ds"}}', 'room:members');
      assert.equal(b.closed, null);
    },
  },
  {
    name: 'deep data.data in a ROOM WEBRTC_OFFER',
    async run(srv) {
      const grants = { grants: ['voice'] };
      const a = await srv.connect('dr-a', 'room', 'web', grants);
      const b = await srv.connect('dr-b', 'room', 'web', grants);
      const join =
        '{"module":"ROOM","cmd":"JOIN_ROOM","code":200,"msg":"success","data":{"roomId":"dr"}}';
      for (const c of [a, b]) await request(c, 'room', join, 'JOIN_ROOM');
      const offer = await request(
        a,
        'room',
        `{"module":"ROOM","cmd":"WEBRTC_OFFER","code":200,"msg":"success","data":{"from":"dr-a","to":"dr-b","data":${DEEP}}}`,
        'WEBRTC_OFFER with deep data',
      );
      // Refused at decode, before the pair is marked offered; nothing reaches the receiver.
      assert.equal(offer.answer.error, '400', JSON.stringify(offer.frame));
      await request(a, 'room', join.replace('JOIN_ROOM', 'ROOM_MEMBERS'), 'ROOM_MEMBERS');
    },
  },
  {
    name: 'NUL bytes in ids and titles, numbers where strings belong, in every dialect',
    async run(srv) {
      const n = await srv.connect('dn-a');
      for (const data of [
        '{"type":"call:invite","data":{"callee":"dn\\u0000b","media":"audio"}}',
        '{"type":"call:invite","data":{"callee":42,"media":"audio"}}',
        '{"type":"room:join","data":{"roomId":"r\\u0000"}}',
        '{"type":"room:join","data":{"roomId":7}}',
        '{"type":"chat:send","data":{"to":"dn\\u0000b","messageType":1,"contentType":1,"content":"a\\u0000"}}',
        '{"type":"rtc:join","data":{"meetingId":"m\\u0000"}}',
        '{"type":"rtc:join","data":{"meetingId":1e308}}',
      ]) {
        await request(n, 'native', data, data);
      }
      const v = await srv.connect('dn-v', 'video_call');
      for (const data of [
        '{"type":"video_call","data":{"type":"call_request","caller_userid":"dn-v","callee_userid":"x\\u0000"}}',
        '{"type":"video_call","data":{"type":"call_request","caller_userid":"dn-v","callee_userid":5}}',
      ]) {
        v.send(data);
        sane(v, 'video_call', await v.next(() => true, 10_000), data);
      }
      const r = await srv.connect('dn-r', 'room');
      await request(
        r,
        'room',
        '{"module":"ROOM","cmd":"JOIN_ROOM","data":{"roomId":"r\\u0000"}}',
        'ROOM JOIN_ROOM with NUL',
      );
      const chat = await srv.connect('dn-c', 'chat');
      for (const content of ['{"type":"call-invite"}', '{"type":"room-join"}']) {
        chat.send(
          encodeChatMessage({
            from: 'dn-c',
            to: 'x\u0000y',
            contentType: 6,
            messageType: 1,
            content,
          }),
        );
        const f = await chat.next(() => true, 10_000);
        assert.equal(readChat(f.binary as Buffer).internal, false, `chat ${content} to a NUL id`);
      }
      for (const body of [{ title: 'a\u0000b' }, { title: 7 }, { title: '\u0000'.repeat(200) }]) {
        const res = await rest(srv, 'dn-a', 'POST', '/api/meetings', body);
        assert.equal(
          readRest(res.status, res.body).internal,
          false,
          `POST /api/meetings ${JSON.stringify(body)}: ${res.status}`,
        );
      }
      const meetingId = await meetingOf(srv, 'dn-a');
      const res = await rest(srv, 'dn-b', 'POST', `/api/meetings/${meetingId}/join`, {
        nickname: 'n\u0000',
      });
      assert.equal(
        readRest(res.status, res.body).internal,
        false,
        `join with a NUL nickname: ${res.status}`,
      );
    },
  },
  {
    name: 'prototype-pollution keys in every dialect and in REST bodies',
    async run(srv) {
      const evil =
        '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}';
      const n = await srv.connect('dx-a');
      await request(n, 'native', `{"type":"room:join","data":${evil}}`, 'native __proto__');
      await request(n, 'native', `{"type":"__proto__","data":${evil}}`, 'native type __proto__');
      const m = await meetingWs(srv, 'dx-a');
      await request(m, 'meeting', `{"type":"rtc:join","data":${evil}}`, 'meeting __proto__');
      const r = await srv.connect('dx-r', 'room');
      await request(
        r,
        'room',
        `{"module":"ROOM","cmd":"constructor","data":${evil}}`,
        'ROOM constructor',
      );
      const v = await srv.connect('dx-v', 'video_call');
      v.send(`{"type":"video_call","data":{"type":"toString","__proto__":{"polluted":"yes"}}}`);
      sane(v, 'video_call', await v.next(() => true, 10_000), 'video_call toString');
      const token = await srv.token('dx-a');
      const res = await fetch(`${srv.httpBase}/api/meetings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: evil,
      });
      assert.notEqual(res.status, 500);
      assert.equal(
        ({} as Record<string, unknown>).polluted,
        undefined,
        'Object.prototype polluted',
      );
    },
  },
];

/** The directed cases, in order. */
export const directedCases: readonly DirectedCase[] = cases;
