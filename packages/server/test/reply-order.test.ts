import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Frame, TestServer } from './harness.ts';
import {
  SioClient,
  createMeeting,
  joinMeeting,
  meetingWs,
  startMeetingServer,
} from './meeting-kit.ts';

/**
 * Answers to one connection's requests come in request order: an error found when a frame is
 * decoded (at once) does not overtake the answer to an earlier request still being worked out
 * (`rtc:join` reads the store and opens a router).
 */

let srv: TestServer;
before(async () => {
  srv = await startMeetingServer();
});
after(() => srv.close());

test('WebSocket: an async request, then a malformed frame: the answers arrive in that order', async () => {
  const id = await createMeeting(srv, 'ann');
  await joinMeeting(srv, id, 'ann');
  const c = await meetingWs(srv, 'ann');
  try {
    c.send({ type: 'rtc:join', data: { meetingId: id }, requestId: 'first' });
    c.send('{"type": "rtc:join", '); // not JSON
    c.send({ type: 'rtc:nope', data: {}, requestId: 'third' });
    const answers = [await c.next(), await c.next(), await c.next()];
    assert.deepEqual(
      answers.map((f) => [f.type, f.requestId, f.code]),
      [
        ['rtc:joined', 'first', undefined],
        ['rtc:error', undefined, 40001],
        ['rtc:error', 'third', 40002],
      ],
    );
  } finally {
    c.close();
  }
});

test('socket.io: an async request, then a malformed one: the acks come in that order', async () => {
  const id = await createMeeting(srv, 'bob');
  await joinMeeting(srv, id, 'bob');
  const bob = await SioClient.open(srv, 'bob');
  try {
    const acks: Frame[] = [];
    const both = new Promise<void>((resolve) => {
      const ack = (r: Frame) => {
        acks.push(r);
        if (acks.length === 2) resolve();
      };
      bob.socket.emit('rtc:join', { meetingId: id }, ack);
      bob.socket.emit('rtc:join', 'not an object', ack);
    });
    await both;
    assert.deepEqual(
      acks.map((r) => [r.type, r.code]),
      [
        ['rtc:joined', undefined],
        ['rtc:error', 40001],
      ],
    );
  } finally {
    bob.close();
  }
});
