import {
  AppError,
  type RtcConnectTransportCommand,
  type RtcCreateTransportCommand,
  type RtcTransportCommand,
} from '@parley/protocol';
import {
  clientOp,
  type DtlsParameters,
  type DtlsState,
  type NumSctpStreams,
  type WebRtcTransport,
} from '../sfu/index.ts';
import { notFound } from './errors.ts';
import type { Peer } from './peer.ts';
import type { Room } from './room.ts';

// The transport requests of one peer, run in its room's order but rtc:connectTransport (see
// RtcService.withPeer).

/** rtc:createTransport: a WebRTC transport (with SCTP when the client can do data channels). */
export async function createTransport(
  peer: Peer,
  room: Room,
  c: RtcCreateTransportCommand,
  maxTransports: number,
) {
  if (peer.transports.size >= maxTransports) {
    throw AppError.limitExceeded(
      `at most ${maxTransports} transports per peer`,
      'transportsPerPeer',
      maxTransports,
    );
  }
  const sctp = (c.sctpCapabilities as { numStreams: NumSctpStreams } | undefined)?.numStreams;
  const transport = await room.sfuOf(peer.router).createWebRtcTransport({
    ...(sctp ? { sctp } : {}),
    appData: { peerId: peer.peerId, direction: c.direction },
  });
  peer.addTransport(transport, c.direction);
  return {
    transportId: transport.id,
    iceParameters: transport.iceParameters,
    iceCandidates: transport.iceCandidates,
    dtlsParameters: transport.dtlsParameters,
    ...(transport.sctpParameters ? { sctpParameters: transport.sctpParameters } : {}),
  };
}

/**
 * rtc:connectTransport: the DTLS parameters of the client side (once per transport). Runs out
 * of the room's order (see RtcService.register).
 */
export async function connectTransport(peer: Peer, c: RtcConnectTransportCommand) {
  const t = peer.transport(c.transportId);
  if (t.connected) throw AppError.invalidState('transport already connected');
  // Set at once: this runs out of the room's order, and a second request meanwhile is refused.
  t.connected = true;
  const dtlsParameters = c.dtlsParameters as unknown as DtlsParameters;
  try {
    await clientOp(() => t.transport.connect({ dtlsParameters }));
  } catch (err) {
    t.connected = false;
    // Closed meanwhile (its peer left): gone, as it is to any request after.
    throw t.transport.closed ? notFound('transport', c.transportId) : err;
  }
  return { transportId: c.transportId };
}

/**
 * Runs `then` once the transport's DTLS is connected: at once if it is; never if it fails or
 * closes first.
 */
export function whenConnected(transport: WebRtcTransport, then: () => void): void {
  if (transport.dtlsState === 'connected') return then();
  const settled = (state: DtlsState) => {
    if (state === 'new' || state === 'connecting') return;
    transport.observer.off('dtlsstatechange', settled);
    if (state === 'connected') then();
  };
  transport.observer.on('dtlsstatechange', settled);
}

/** rtc:restartIce: new ICE credentials for a transport (the client restarts ICE with them). */
export async function restartIce(peer: Peer, c: RtcTransportCommand) {
  const iceParameters = await peer.transport(c.transportId).transport.restartIce();
  return { transportId: c.transportId, iceParameters };
}

/** rtc:getTransportStats. */
export async function transportStats(peer: Peer, c: RtcTransportCommand) {
  return {
    transportId: c.transportId,
    stats: await peer.transport(c.transportId).transport.getStats(),
  };
}
