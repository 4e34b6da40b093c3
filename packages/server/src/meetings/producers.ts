import { AppError, type RtcProduceCommand, type RtcProducerCommand } from '@parley/protocol';
import { clientOp, type RtpParameters } from '../sfu/index.ts';
import { mutedByAdmin } from './errors.ts';
import type { Peer } from './peer.ts';
import type { Room } from './room.ts';

// The producer requests of one peer, run in its room's order (see RtcService.withPeer).

/** A few tracks per peer are the normal case; the cap bounds what a client makes the SFU hold. */
const MAX_PRODUCERS = 16;

/** rtc:produce: a producer on a send transport; the others hear rtc:newProducer. */
export async function produce(peer: Peer, room: Room, c: RtcProduceCommand) {
  const t = peer.transport(c.transportId, 'send');
  if (peer.producers.size >= MAX_PRODUCERS) {
    throw AppError.badRequest(`at most ${MAX_PRODUCERS} producers per peer`);
  }
  const rtpParameters = c.rtpParameters as unknown as RtpParameters;
  const producer = await clientOp(() =>
    t.transport.produce({ kind: c.kind, rtpParameters, paused: c.paused, appData: c.appData }),
  );
  peer.addProducer(producer);
  producer.observer.once('close', () => {
    for (const other of room.peers.values()) other.forgetConsumersOf(producer.id);
    room.speaker.remove(producer.id);
  });
  if (producer.kind === 'audio') await room.speaker.add(producer.id, peer.router);
  room.broadcast(
    {
      type: 'rtc:newProducer',
      producerId: producer.id,
      peerId: peer.peerId,
      kind: producer.kind,
      appData: c.appData,
      paused: producer.paused,
    },
    peer,
  );
  return { producerId: producer.id };
}

/** rtc:closeProducer: the others hear rtc:producerClosed (their consumers close). */
export function closeProducer(peer: Peer, room: Room, c: RtcProducerCommand) {
  peer.producer(c.producerId).close();
  room.broadcast(
    { type: 'rtc:producerClosed', producerId: c.producerId, peerId: peer.peerId },
    peer,
  );
  return { producerId: c.producerId, peerId: peer.peerId };
}

/** rtc:pauseProducer / rtc:resumeProducer (mute); the others hear it. */
export async function pauseProducer(peer: Peer, room: Room, c: RtcProducerCommand, pause: boolean) {
  const producer = peer.producer(c.producerId);
  if (!pause && peer.locked.has(producer.id)) throw mutedByAdmin(producer.id);
  await (pause ? producer.pause() : producer.resume());
  const type = pause ? 'rtc:producerPaused' : 'rtc:producerResumed';
  room.broadcast({ type, producerId: producer.id, peerId: peer.peerId }, peer);
  return { producerId: producer.id, peerId: peer.peerId };
}

/** rtc:getProducerStats (own producers). */
export async function producerStats(peer: Peer, c: RtcProducerCommand) {
  return { producerId: c.producerId, stats: await peer.producer(c.producerId).getStats() };
}
