import {
  AppError,
  type RtcConsumeCommand,
  type RtcConsumerCommand,
  type RtcConsumerLayersCommand,
  type RtcConsumerPriorityCommand,
} from '@parley/protocol';
import { clientOp, type RtpCapabilities } from '../sfu/index.ts';
import { notFound } from './errors.ts';
import type { Peer } from './peer.ts';
import { releaseBoth, type Release } from './pipes.ts';
import type { Source } from './remote-producers.ts';
import type { Room } from './room.ts';
import { whenConnected } from './transports.ts';

// The consumer requests of one peer, run in its room's order (see RtcService.withPeer).

/** A consumer per remote track is the normal case; the cap bounds what the SFU holds. */
export const MAX_CONSUMERS = 500;

/**
 * rtc:consume: a paused consumer of another peer's producer on a recv transport. A producer on
 * another router of the meeting is piped to the consumer's router first (once: see pipes.ts),
 * one on another node of a spanning meeting is piped to this node first (remote-producers.ts),
 * and the consumer holds those pipes until it closes.
 */
export async function consume(peer: Peer, room: Room, c: RtcConsumeCommand) {
  const rtpCapabilities = c.rtpCapabilities as unknown as RtpCapabilities;
  const source = await sourceOf(room, c.producerId);
  const { producer } = source;
  let release: Release = source.release;
  let t;
  try {
    t = peer.recvTransport(c.transportId);
    if (peer.consumers.size >= MAX_CONSUMERS) {
      throw AppError.badRequest(`at most ${MAX_CONSUMERS} consumers per peer`);
    }
    if (!source.router.canConsume({ producerId: producer.id, rtpCapabilities })) {
      throw AppError.badRequest('rtpCapabilities cannot receive this producer', {
        field: '/rtpCapabilities',
      });
    }
    // Its media flows from the consumer's resume on (pauseConsumer).
    const piped = await room.pipes.acquire(
      { producerId: producer.id },
      source.router,
      peer.router,
      true,
    );
    release = releaseBoth(piped, source.release);
  } catch (err) {
    release();
    // A producer that closed while it was being piped is not found, as it is a moment later.
    throw producer.closed ? notFound('producer', c.producerId) : err;
  }
  let consumer;
  const transport = t.transport;
  try {
    consumer = await clientOp(() =>
      transport.consume({ producerId: producer.id, rtpCapabilities, paused: true }),
    );
  } catch (err) {
    release();
    throw producer.closed ? notFound('producer', c.producerId) : err;
  }
  consumer.observer.once('close', release);
  peer.addConsumer(consumer, transport);
  consumer.on('layerschange', (layers) =>
    room.send(peer, {
      type: 'rtc:consumerLayersChanged',
      consumerId: consumer.id,
      spatialLayer: layers?.spatialLayer ?? null,
      temporalLayer: layers?.temporalLayer ?? null,
    }),
  );
  return {
    consumerId: consumer.id,
    id: consumer.id,
    producerId: producer.id,
    kind: consumer.kind,
    rtpParameters: consumer.rtpParameters,
    type: consumer.type,
    producerPaused: consumer.producerPaused,
    appData: producer.appData,
  };
}

/**
 * The producer a consumer takes: a peer's of this node, or the copy of one on
 * another node of a meeting that spans the cluster, piped here (see remote-producers.ts).
 */
async function sourceOf(room: Room, producerId: string): Promise<Source> {
  const owner = room.ownerOf(producerId);
  const producer = owner?.producers.get(producerId);
  if (owner && producer) return { producer, router: owner.router, release: () => undefined };
  // A remote producer lands on the observer's router, which lives as long as the room (a
  // peer's router closes with its last peer, and would take the copy from the others).
  const remote = await room.span?.acquire(room.meetingId, producerId, room.speaker.router, true);
  if (!remote) throw notFound('producer', producerId);
  return remote;
}

/**
 * rtc:resumeConsumer / rtc:pauseConsumer. The pipes that bring a consumer's producer here
 * start only once that consumer forwards: resumed, on a transport whose DTLS is connected (see
 * sfu/local-pipe.ts and MeetingSpan.start). The key frame that the first pipe asks for as it
 * starts then reaches the client; asked for earlier, it would be dropped, and would make
 * Chrome's encoder ignore the consumer's own request at DTLS connect (300 ms apart at least), a
 * 1 s wait for mediasoup's retry. A client resumes as soon as it has the consumer, often before
 * its DTLS is up. The pipe between this node's routers starts before the one from another
 * node, which that key frame crosses first.
 */
export async function pauseConsumer(peer: Peer, room: Room, c: RtcConsumerCommand, pause: boolean) {
  const consumer = peer.consumer(c.consumerId);
  await (pause ? consumer.pause() : consumer.resume());
  if (pause) return { consumerId: consumer.id };
  const { producerId } = consumer;
  const start = async () => {
    await room.pipes.start({ producerId }, peer.router);
    await room.span?.start(room.meetingId, producerId);
  };
  const transport = peer.transportOf(consumer);
  if (!transport || transport.dtlsState === 'connected') await start();
  // Out of the room's order: waiting there for a client's DTLS would hold up the meeting. A
  // pipe closed meanwhile has nothing to start.
  else whenConnected(transport, () => void start().catch(() => undefined));
  return { consumerId: consumer.id };
}

/** rtc:requestConsumerKeyFrame. */
export async function requestKeyFrame(peer: Peer, c: RtcConsumerCommand) {
  await peer.consumer(c.consumerId).requestKeyFrame();
  return { consumerId: c.consumerId };
}

/** rtc:getConsumerStats. */
export async function consumerStats(peer: Peer, c: RtcConsumerCommand) {
  return { consumerId: c.consumerId, stats: await peer.consumer(c.consumerId).getStats() };
}

/** rtc:setConsumerPreferredLayers (simulcast/SVC). */
export async function preferredLayers(peer: Peer, c: RtcConsumerLayersCommand) {
  const consumer = peer.consumer(c.consumerId);
  const layers =
    c.temporalLayer === undefined
      ? { spatialLayer: c.spatialLayer }
      : { spatialLayer: c.spatialLayer, temporalLayer: c.temporalLayer };
  await clientOp(() => consumer.setPreferredLayers(layers));
  return { consumerId: consumer.id, preferredLayers: consumer.preferredLayers ?? null };
}

/** rtc:setConsumerPriority. */
export async function priority(peer: Peer, c: RtcConsumerPriorityCommand) {
  const consumer = peer.consumer(c.consumerId);
  await clientOp(() => consumer.setPriority(c.priority));
  return { consumerId: consumer.id, priority: consumer.priority };
}
