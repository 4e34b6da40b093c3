import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type Frame, type TestServer } from './harness.ts';
import { SioClient, meetingWs } from './meeting-kit.ts';

/**
 * The last-resort guard where commands are dispatched: a handler that throws something other
 * than an AppError, or whose result the dialect cannot encode, gets its request answered by its
 * id with `internal`; the connection and the process stay up. Before, a result that failed to
 * encode was an unhandled rejection, and the process exited.
 */

const MEETING = '00000000-0000-4000-8000-000000000000';

/** A cyclic value: JSON.stringify and socket.io's encoder both throw on it. */
function cyclic(): Frame {
  const v: Frame = { rtpCapabilities: {} };
  v.rtpCapabilities.self = v;
  return v;
}

describe('a handler that fails unexpectedly', () => {
  let srv: TestServer;
  let outcome: 'reject' | 'unencodable' | 'ok' = 'ok';
  before(async () => {
    srv = await startServer({ limits: { rateBurst: 1000 } });
    // The test app's handler for rtc:getRouterRtpCapabilities, as a buggy one would behave.
    const rtc = srv.app.rtc as unknown as { capabilities: () => Promise<unknown> };
    rtc.capabilities = async () => {
      await Promise.resolve();
      if (outcome === 'reject') throw new TypeError('a bug');
      if (outcome === 'unencodable') return cyclic();
      return { rtpCapabilities: { codecs: [] } };
    };
  });
  after(() => srv.close());

  for (const path of ['/ws', '/ws/meeting']) {
    test(`${path}: answered with internal by its requestId; the socket keeps working`, async () => {
      const c = await meetingWs(srv, 'amy', path);
      for (const o of ['reject', 'unencodable'] as const) {
        outcome = o;
        const r = await c.request('rtc:getRouterRtpCapabilities', { meetingId: MEETING });
        if (path === '/ws') assert.equal((r.error as Frame).code, 'internal', JSON.stringify(r));
        else assert.deepEqual([r.type, r.code], ['rtc:error', 50001], JSON.stringify(r));
        assert.doesNotMatch(JSON.stringify(r), /a bug|at /, 'no details leak');
      }
      outcome = 'ok';
      const r = await c.request('rtc:getRouterRtpCapabilities', { meetingId: MEETING });
      assert.ok((r.data as Frame).rtpCapabilities, JSON.stringify(r));
      assert.equal(c.closed, null);
      c.close();
    });
  }

  test('socket.io: the ack is 50001 (or, when the ack itself cannot be sent, an event)', async () => {
    const sio = await SioClient.open(srv, 'bea');
    try {
      outcome = 'reject';
      const r = await sio.request('rtc:getRouterRtpCapabilities', { meetingId: MEETING });
      assert.deepEqual([r.type, r.code], ['rtc:error', 50001], JSON.stringify(r));
      // The ack's encoding throws; socket.io takes an ack only once, so the error is an event.
      outcome = 'unencodable';
      sio.socket.emit(
        'rtc:getRouterRtpCapabilities',
        {
          type: 'rtc:getRouterRtpCapabilities',
          requestId: 'cyc',
          data: { meetingId: MEETING },
        },
        () => assert.fail('no ack can be sent'),
      );
      const e = await sio.event('rtc:error');
      assert.deepEqual([e.data.requestId, e.data.code], ['cyc', 50001], JSON.stringify(e));
      outcome = 'ok';
      const fine = await sio.request('rtc:getRouterRtpCapabilities', { meetingId: MEETING });
      assert.equal(fine.type, 'rtc:routerRtpCapabilities', JSON.stringify(fine));
      assert.equal(sio.socket.connected, true);
    } finally {
      sio.close();
    }
  });
});
