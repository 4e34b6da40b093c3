import { AppError, type RtcConsumeDataCommand, type RtcProduceDataCommand } from '@parley/protocol';
import { clientOp, type SctpStreamParameters } from '../sfu/index.ts';
import { MAX_CONSUMERS } from './consumers.ts';
import { notFound } from './errors.ts';
import type { Peer } from './peer.ts';
import { releaseBoth, type Release } from './pipes.ts';
import type { DataSource } from './remote-producers.ts';
import type { Room } from './room.ts';

// The data channel requests of one peer (data producers and data consumers), run in its room's
// order (see RtcService.withPeer).

/** A few data channels per peer are the normal case; the cap bounds what the SFU holds. */
const MAX_DATA_PRODUCERS = 16;

/** rtc:produceData: a data channel on a send transport with SCTP. */
export async function produceData(peer: Peer, room: Room, c: RtcProduceDataCommand) {
  const t = peer.transport(c.transportId, 'send');
  if (!t.transport.sctpParameters) {
    throw AppError.badRequest('transport was created without sctpCapabilities');
  }
  if (peer.dataProducers.size >= MAX_DATA_PRODUCERS) {
    throw AppError.badRequest(`at most ${MAX_DATA_PRODUCERS} data producers per peer`);
  }
  const sctpStreamParameters = c.sctpStreamParameters as unknown as SctpStreamParameters;
  const dataProducer = await clientOp(() =>
    t.transport.produceData({
      sctpStreamParameters,
      label: c.label,
      protocol: c.protocol,
      appData: c.appData,
    }),
  );
  peer.addDataProducer(dataProducer);
  dataProducer.observer.once('close', () => {
    for (const other of room.peers.values()) other.forgetDataConsumersOf(dataProducer.id);
  });
  room.broadcast(
    {
      type: 'rtc:newDataProducer',
      dataProducerId: dataProducer.id,
      peerId: peer.peerId,
      label: dataProducer.label,
      protocol: dataProducer.protocol,
      appData: c.appData,
    },
    peer,
  );
  return { dataProducerId: dataProducer.id };
}

/**
 * rtc:consumeData: another peer's data channel on a recv transport with SCTP. A data producer
 * on another router of the meeting is piped here first, as media is; one on another node of a
 * spanning meeting is piped to this node first (remote-producers.ts).
 */
export async function consumeData(peer: Peer, room: Room, c: RtcConsumeDataCommand) {
  // An unknown data producer is said first (40405), whatever else the request lacks; nothing
  // is piped until the transport and the limits are checked too.
  const local = [...room.peers.values()].some((p) => p.dataProducers.has(c.dataProducerId));
  if (!local && !room.span?.has(room.meetingId, c.dataProducerId)) {
    throw notFound('dataProducer', c.dataProducerId);
  }
  const t = peer.recvTransport(c.transportId);
  if (!t.transport.sctpParameters) {
    throw AppError.badRequest('transport was created without sctpCapabilities');
  }
  if (peer.dataConsumers.size >= MAX_CONSUMERS) {
    throw AppError.badRequest(`at most ${MAX_CONSUMERS} data consumers per peer`);
  }
  const source = await dataSourceOf(room, c.dataProducerId);
  const { dataProducer } = source;
  const dataProducerId = dataProducer.id;
  let release: Release = source.release;
  try {
    const piped = await room.pipes.acquire({ dataProducerId }, source.router, peer.router);
    release = releaseBoth(piped, source.release);
  } catch (err) {
    release();
    throw dataProducer.closed ? notFound('dataProducer', dataProducerId) : err;
  }
  let dataConsumer;
  try {
    dataConsumer = await clientOp(() => t.transport.consumeData({ dataProducerId }));
  } catch (err) {
    release();
    throw dataProducer.closed ? notFound('dataProducer', dataProducerId) : err;
  }
  dataConsumer.observer.once('close', release);
  peer.addDataConsumer(dataConsumer);
  return {
    dataConsumerId: dataConsumer.id,
    id: dataConsumer.id,
    dataProducerId,
    sctpStreamParameters: dataConsumer.sctpStreamParameters,
    label: dataConsumer.label,
    protocol: dataConsumer.protocol,
    appData: dataProducer.appData,
  };
}

/**
 * The data producer a data consumer takes: a peer's of this node, or the copy of one on another
 * node of a meeting that spans the cluster, piped to the observer's router (as media is).
 */
async function dataSourceOf(room: Room, dataProducerId: string): Promise<DataSource> {
  for (const other of room.peers.values()) {
    const dataProducer = other.dataProducers.get(dataProducerId);
    if (dataProducer) return { dataProducer, router: other.router, release: () => undefined };
  }
  const remote = await room.span?.acquireData(room.meetingId, dataProducerId, room.speaker.router);
  if (!remote) throw notFound('dataProducer', dataProducerId);
  return remote;
}
