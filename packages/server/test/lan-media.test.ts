import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestServer } from './harness.ts';
import { lanAddress } from '../src/config/lan-address.ts';
import {
  createMeeting,
  joinMeeting,
  meetingWs,
  rest,
  startMeetingServer,
  wsSignaling,
} from './meeting-kit.ts';

/**
 * A server opened to the LAN with nothing but `HOST=0.0.0.0` (what `npm start` needs there):
 * the SFU's ICE candidates carry the host's LAN address, and no ICE servers are handed out.
 */

let srv: TestServer;
before(async () => {
  assert.ok(lanAddress(), 'this test needs a non-loopback IPv4 interface');
  srv = await startMeetingServer({ server: { port: 0, host: '0.0.0.0' } });
});
after(() => srv.close());

test('HOST=0.0.0.0: transports announce the LAN address; media-config has no ICE servers', async () => {
  const id = await createMeeting(srv, 'lan');
  await joinMeeting(srv, id, 'lan');
  const config = await rest(srv, 'lan', 'GET', `/api/meetings/${id}/media-config`);
  assert.deepEqual(config.body.data, { iceServers: [] });
  const sig = wsSignaling(await meetingWs(srv, 'lan'));
  try {
    assert.equal((await sig.request('rtc:join', { meetingId: id })).type, 'rtc:joined');
    const t = await sig.request('rtc:createTransport', { meetingId: id, direction: 'send' });
    const ips = new Set((t.data.iceCandidates as Array<{ ip: string }>).map((c) => c.ip));
    assert.deepEqual([...ips], [lanAddress()]);
  } finally {
    sig.close();
  }
});
