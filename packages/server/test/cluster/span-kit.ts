import assert from 'node:assert/strict';
import type { Frame } from '../harness.ts';
import { DTLS, type Signaling } from '../meeting-kit.ts';

// What the signaling tests of meetings spanning nodes share.

/** Sends a request and asserts the reply's type; its data. */
export async function ok(sig: Signaling, type: string, data: unknown, want: string) {
  const r = await sig.request(type, data);
  assert.equal(r.type, want, `${type} → ${JSON.stringify(r)}`);
  return r.data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * Joins a publisher: the router's capabilities, its peer, a connected send transport, and a
 * `produce` of a track (its appData: `{ kind }`).
 */
export async function publisher(sig: Signaling, meetingId: string) {
  const caps = (
    await ok(sig, 'rtc:getRouterRtpCapabilities', { meetingId }, 'rtc:routerRtpCapabilities')
  ).rtpCapabilities as Frame;
  const peerId = (await ok(sig, 'rtc:join', { meetingId }, 'rtc:joined')).peerId as string;
  const send = (
    await ok(sig, 'rtc:createTransport', { meetingId, direction: 'send' }, 'rtc:transportCreated')
  ).transportId as string;
  await ok(
    sig,
    'rtc:connectTransport',
    { meetingId, transportId: send, dtlsParameters: DTLS },
    'rtc:transportConnected',
  );
  const produce = async (kind: string, rtpParameters: Frame) =>
    (
      await ok(
        sig,
        'rtc:produce',
        { meetingId, transportId: send, kind, rtpParameters, appData: { kind } },
        'rtc:produced',
      )
    ).producerId as string;
  return { caps, peerId, send, produce };
}
