import type { MeetingParticipant } from '@parley/protocol';
import {
  AppError,
  type DeviceRef,
  type RtcCapabilitiesCommand,
  type RtcCommand,
  type RtcCommandType,
  type RtcConnectTransportCommand,
  type RtcConsumeCommand,
  type RtcConsumeDataCommand,
  type RtcConsumerCommand,
  type RtcConsumerLayersCommand,
  type RtcConsumerPriorityCommand,
  type RtcCreateTransportCommand,
  type RtcJoinCommand,
  type RtcLeaveCommand,
  type RtcJoined,
  type RtcPeerInfo,
  type RtcProduceCommand,
  type RtcProduceDataCommand,
  type RtcProducerCommand,
  type RtcTransportCommand,
} from '@parley/protocol';
import type { Clock, Delivery, MeetingRecords, Sender } from '../core/index.ts';
import type { Config } from '../config/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';
import {
  clientOp,
  type DtlsParameters,
  type NumSctpStreams,
  type RtpCapabilities,
  type Router,
  type RtpParameters,
  type SctpStreamParameters,
  type SfuPool,
} from '../sfu/index.ts';
import { mutedByAdmin, notFound } from './errors.ts';
import { Peer } from './peer.ts';
import { Room } from './room.ts';

/** What the rtc service needs. */
export interface RtcServiceOptions {
  store: MeetingRecords;
  sfu: SfuPool;
  delivery: Delivery;
  emptyRoomGraceMs: number;
  caps: Pick<Config['caps'], 'peersPerUserPerMeeting' | 'peersPerUser' | 'transportsPerPeer'>;
  /** A meeting's media room closed on this node (cluster mode gives up its claim on it). */
  onRoomClosed?: (meetingId: string) => void;
  metrics: Metrics;
  log: Logger;
  clock?: Clock;
}

/** Where handlers are registered (the gateway's Dispatcher), by command type. */
export interface RtcHandlerRegistry {
  on<T extends RtcCommandType>(
    type: T,
    handler: (sender: Sender, command: Extract<RtcCommand, { type: T }>) => unknown,
  ): unknown;
}

/**
 * Per-peer caps, so that a client cannot make the SFU hold unbounded state: a few tracks and a
 * consumer per remote track are the normal case (transports and peers: `caps` in the config).
 */
const MAX_PRODUCERS = 16;
const MAX_DATA_PRODUCERS = 16;
const MAX_CONSUMERS = 500;

/** Joining retries when the room it found closed meanwhile (emptied, or its worker died). */
const JOIN_ATTEMPTS = 3;

const deviceOf = ({ userId, deviceId, clientType }: Sender): DeviceRef => ({
  userId,
  deviceId,
  clientType,
});

/**
 * The meeting signaling of specs/meeting-sfu.md on the SFU: one media room per meeting with a
 * router on the least loaded worker, peers per device, and every rtc:* request. Every request is
 * checked against the sender: rtc:join needs a REST participation; everything else needs the
 * sender's own peer and only ever finds that peer's own transports, producers and consumers.
 * Work on a meeting runs one request at a time.
 */
export class RtcService {
  private readonly rooms = new Map<string, Room>();
  private readonly opening = new Map<string, Promise<Room>>();
  private closing = false;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(private readonly o: RtcServiceOptions) {
    this.clock = o.clock ?? Date.now;
    this.log = o.log.child({ mod: 'meetings' });
  }

  /** Meetings with a live media room on this node. */
  get size(): number {
    return this.rooms.size;
  }

  /** Whether the meeting has a live media room on this node. */
  has(meetingId: string): boolean {
    return this.rooms.has(meetingId);
  }

  /** The meeting's router, while its media room is open (benchmarks, diagnostics). */
  router(meetingId: string): Router | undefined {
    return this.rooms.get(meetingId)?.router;
  }

  /** Registers a handler for every rtc:* command. */
  register(r: RtcHandlerRegistry): void {
    r.on('rtc:join', (s, c) => this.join(s, c));
    r.on('rtc:getRouterRtpCapabilities', (s, c) => this.capabilities(s, c));
    r.on('rtc:createTransport', (s, c) => this.createTransport(s, c));
    r.on('rtc:connectTransport', (s, c) => this.connectTransport(s, c));
    r.on('rtc:restartIce', (s, c) => this.restartIce(s, c));
    r.on('rtc:getTransportStats', (s, c) => this.transportStats(s, c));
    r.on('rtc:produce', (s, c) => this.produce(s, c));
    r.on('rtc:closeProducer', (s, c) => this.closeProducer(s, c));
    r.on('rtc:pauseProducer', (s, c) => this.pauseProducer(s, c, true));
    r.on('rtc:resumeProducer', (s, c) => this.pauseProducer(s, c, false));
    r.on('rtc:getProducerStats', (s, c) => this.producerStats(s, c));
    r.on('rtc:consume', (s, c) => this.consume(s, c));
    r.on('rtc:resumeConsumer', (s, c) => this.pauseConsumer(s, c, false));
    r.on('rtc:pauseConsumer', (s, c) => this.pauseConsumer(s, c, true));
    r.on('rtc:requestConsumerKeyFrame', (s, c) => this.requestKeyFrame(s, c));
    r.on('rtc:getConsumerStats', (s, c) => this.consumerStats(s, c));
    r.on('rtc:setConsumerPreferredLayers', (s, c) => this.preferredLayers(s, c));
    r.on('rtc:setConsumerPriority', (s, c) => this.priority(s, c));
    r.on('rtc:produceData', (s, c) => this.produceData(s, c));
    r.on('rtc:consumeData', (s, c) => this.consumeData(s, c));
    r.on('rtc:leave', (s, c) => this.leave(s, c));
  }

  /** rtc:join: a new peer for the sender's device; returns the peers already there. */
  async join(sender: Sender, c: RtcJoinCommand): Promise<RtcJoined> {
    await this.access(sender, c.meetingId);
    for (let attempt = 0; attempt < JOIN_ATTEMPTS; attempt++) {
      // Checked before a router is opened too, so that refused joins open none.
      if (!this.rooms.has(c.meetingId)) this.checkPeerCaps(sender.userId);
      const room = await this.room(c.meetingId, sender.userId);
      const joined = await room.run(async () => {
        if (room.closed) return null;
        if (room.peerOf(sender.deviceId)) {
          throw AppError.invalidState('this connection already joined the meeting media');
        }
        // Checked again in the room's order: a REST leave or end may have come in between.
        const participant = await this.access(sender, c.meetingId);
        if (room.closed) return null;
        this.checkPeerCaps(sender.userId, room);
        const peer = new Peer(deviceOf(sender), participant.nickname);
        const peers = [...room.peers.values()].map((p) => p.info());
        room.add(peer);
        return { peerId: peer.peerId, peers, activeSpeaker: room.activeSpeaker };
      });
      if (joined) return joined;
    }
    throw AppError.internal();
  }

  /**
   * rtc:getRouterRtpCapabilities (participants only). Every router has the same ones, so this
   * opens no media room: only peers do, which the per-user caps bound.
   */
  async capabilities(
    sender: Sender,
    c: RtcCapabilitiesCommand,
  ): Promise<{ rtpCapabilities: RtpCapabilities }> {
    const live = this.rooms.get(c.meetingId);
    if (!live?.peerOf(sender.deviceId)) await this.access(sender, c.meetingId);
    if (live && !live.closed) return { rtpCapabilities: live.router.rtpCapabilities };
    return { rtpCapabilities: await this.o.sfu.routerRtpCapabilities() };
  }

  /** rtc:createTransport: a WebRTC transport (with SCTP when the client can do data channels). */
  createTransport(sender: Sender, c: RtcCreateTransportCommand) {
    return this.withPeer(sender, c.meetingId, async (peer, room) => {
      const max = this.o.caps.transportsPerPeer;
      if (peer.transports.size >= max) {
        throw AppError.limitExceeded(
          `at most ${max} transports per peer`,
          'transportsPerPeer',
          max,
        );
      }
      const sctp = (c.sctpCapabilities as { numStreams: NumSctpStreams } | undefined)?.numStreams;
      const transport = await room.sfu.createWebRtcTransport({
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
    });
  }

  /** rtc:connectTransport: the DTLS parameters of the client side (once per transport). */
  connectTransport(sender: Sender, c: RtcConnectTransportCommand) {
    return this.withPeer(sender, c.meetingId, async (peer) => {
      const t = peer.transport(c.transportId);
      if (t.connected) throw AppError.invalidState('transport already connected');
      const dtlsParameters = c.dtlsParameters as unknown as DtlsParameters;
      await clientOp(() => t.transport.connect({ dtlsParameters }));
      t.connected = true;
      return { transportId: c.transportId };
    });
  }

  /** rtc:restartIce: new ICE credentials for a transport (the client restarts ICE with them). */
  restartIce(sender: Sender, c: RtcTransportCommand) {
    return this.withPeer(sender, c.meetingId, async (peer) => {
      const iceParameters = await peer.transport(c.transportId).transport.restartIce();
      return { transportId: c.transportId, iceParameters };
    });
  }

  /** rtc:getTransportStats. */
  transportStats(sender: Sender, c: RtcTransportCommand) {
    return this.withPeer(sender, c.meetingId, async (peer) => ({
      transportId: c.transportId,
      stats: await peer.transport(c.transportId).transport.getStats(),
    }));
  }

  /** rtc:produce: a producer on a send transport; the others hear rtc:newProducer. */
  produce(sender: Sender, c: RtcProduceCommand) {
    return this.withPeer(sender, c.meetingId, async (peer, room) => {
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
      });
      if (producer.kind === 'audio') {
        await room.speaker.addProducer({ producerId: producer.id }).catch((err: unknown) => {
          this.log.warn({ event: 'speaker_add_failed', err }, 'active speaker observer refused');
        });
      }
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
    });
  }

  /** rtc:closeProducer: the others hear rtc:producerClosed (their consumers close). */
  closeProducer(sender: Sender, c: RtcProducerCommand) {
    return this.withPeer(sender, c.meetingId, (peer, room) => {
      peer.producer(c.producerId).close();
      room.broadcast(
        { type: 'rtc:producerClosed', producerId: c.producerId, peerId: peer.peerId },
        peer,
      );
      return { producerId: c.producerId, peerId: peer.peerId };
    });
  }

  /** rtc:pauseProducer / rtc:resumeProducer (mute); the others hear it. */
  pauseProducer(sender: Sender, c: RtcProducerCommand, pause: boolean) {
    return this.withPeer(sender, c.meetingId, async (peer, room) => {
      const producer = peer.producer(c.producerId);
      if (!pause && peer.locked.has(producer.id)) throw mutedByAdmin(producer.id);
      await (pause ? producer.pause() : producer.resume());
      const type = pause ? 'rtc:producerPaused' : 'rtc:producerResumed';
      room.broadcast({ type, producerId: producer.id, peerId: peer.peerId }, peer);
      return { producerId: producer.id, peerId: peer.peerId };
    });
  }

  /** rtc:getProducerStats (own producers). */
  producerStats(sender: Sender, c: RtcProducerCommand) {
    return this.withPeer(sender, c.meetingId, async (peer) => ({
      producerId: c.producerId,
      stats: await peer.producer(c.producerId).getStats(),
    }));
  }

  /** rtc:consume: a paused consumer of another peer's producer on a recv transport. */
  consume(sender: Sender, c: RtcConsumeCommand) {
    return this.withPeer(sender, c.meetingId, async (peer, room) => {
      const producer = room.ownerOf(c.producerId)?.producers.get(c.producerId);
      if (!producer) throw notFound('producer', c.producerId);
      const t = peer.recvTransport(c.transportId);
      if (peer.consumers.size >= MAX_CONSUMERS) {
        throw AppError.badRequest(`at most ${MAX_CONSUMERS} consumers per peer`);
      }
      const rtpCapabilities = c.rtpCapabilities as unknown as RtpCapabilities;
      if (!room.router.canConsume({ producerId: producer.id, rtpCapabilities })) {
        throw AppError.badRequest('rtpCapabilities cannot receive this producer', {
          field: '/rtpCapabilities',
        });
      }
      const consumer = await clientOp(() =>
        t.transport.consume({ producerId: producer.id, rtpCapabilities, paused: true }),
      );
      peer.addConsumer(consumer);
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
    });
  }

  /** rtc:resumeConsumer / rtc:pauseConsumer. */
  pauseConsumer(sender: Sender, c: RtcConsumerCommand, pause: boolean) {
    return this.withPeer(sender, c.meetingId, async (peer) => {
      const consumer = peer.consumer(c.consumerId);
      await (pause ? consumer.pause() : consumer.resume());
      return { consumerId: consumer.id };
    });
  }

  /** rtc:requestConsumerKeyFrame. */
  requestKeyFrame(sender: Sender, c: RtcConsumerCommand) {
    return this.withPeer(sender, c.meetingId, async (peer) => {
      await peer.consumer(c.consumerId).requestKeyFrame();
      return { consumerId: c.consumerId };
    });
  }

  /** rtc:getConsumerStats. */
  consumerStats(sender: Sender, c: RtcConsumerCommand) {
    return this.withPeer(sender, c.meetingId, async (peer) => ({
      consumerId: c.consumerId,
      stats: await peer.consumer(c.consumerId).getStats(),
    }));
  }

  /** rtc:setConsumerPreferredLayers (simulcast/SVC). */
  preferredLayers(sender: Sender, c: RtcConsumerLayersCommand) {
    return this.withPeer(sender, c.meetingId, async (peer) => {
      const consumer = peer.consumer(c.consumerId);
      const layers =
        c.temporalLayer === undefined
          ? { spatialLayer: c.spatialLayer }
          : { spatialLayer: c.spatialLayer, temporalLayer: c.temporalLayer };
      await clientOp(() => consumer.setPreferredLayers(layers));
      return { consumerId: consumer.id, preferredLayers: consumer.preferredLayers ?? null };
    });
  }

  /** rtc:setConsumerPriority. */
  priority(sender: Sender, c: RtcConsumerPriorityCommand) {
    return this.withPeer(sender, c.meetingId, async (peer) => {
      const consumer = peer.consumer(c.consumerId);
      await clientOp(() => consumer.setPriority(c.priority));
      return { consumerId: consumer.id, priority: consumer.priority };
    });
  }

  /** rtc:produceData: a data channel on a send transport with SCTP. */
  produceData(sender: Sender, c: RtcProduceDataCommand) {
    return this.withPeer(sender, c.meetingId, async (peer, room) => {
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
    });
  }

  /** rtc:consumeData: another peer's data channel on a recv transport with SCTP. */
  consumeData(sender: Sender, c: RtcConsumeDataCommand) {
    return this.withPeer(sender, c.meetingId, async (peer, room) => {
      let dataProducer;
      for (const other of room.peers.values()) {
        dataProducer ??= other.dataProducers.get(c.dataProducerId);
      }
      if (!dataProducer) throw notFound('dataProducer', c.dataProducerId);
      const t = peer.recvTransport(c.transportId);
      if (!t.transport.sctpParameters) {
        throw AppError.badRequest('transport was created without sctpCapabilities');
      }
      if (peer.dataConsumers.size >= MAX_CONSUMERS) {
        throw AppError.badRequest(`at most ${MAX_CONSUMERS} data consumers per peer`);
      }
      const dataProducerId = dataProducer.id;
      const dataConsumer = await clientOp(() => t.transport.consumeData({ dataProducerId }));
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
    });
  }

  /** rtc:leave: the peer leaves the media room; its REST participation stays. */
  leave(sender: Sender, c: RtcLeaveCommand) {
    return this.withPeer(sender, c.meetingId, (peer, room) => {
      room.remove(peer);
      return { peerId: peer.peerId };
    });
  }

  /**
   * A device's signaling connection dropped: its peers leave their rooms, and when it was the
   * user's last peer in a meeting the user's participation ends (left_at, as the spec says).
   */
  deviceGone(sender: Sender): void {
    if (this.closing) return;
    for (const room of this.rooms.values()) {
      if (!room.peerOf(sender.deviceId)) continue;
      room
        .run(() => {
          const peer = room.peerOf(sender.deviceId);
          if (!peer) return;
          room.remove(peer);
          if (room.peersOf(sender.userId).length === 0) {
            // Not awaited: the room's next command must not wait for the store.
            this.o.store
              .left(room.meetingId, sender.userId, this.clock())
              .catch((err: unknown) =>
                this.log.error({ event: 'rtc_left_not_recorded', err }, 'stay end lost'),
              );
          }
        })
        .catch((err: unknown) =>
          this.log.error({ event: 'rtc_device_gone_failed', err }, 'cleanup failed'),
        );
    }
  }

  /** A user left the meeting through REST: every peer of theirs leaves and is told rtc:left. */
  async userLeft(meetingId: string, userId: string): Promise<void> {
    const room = await this.existing(meetingId);
    await room?.run(() => {
      for (const peer of room.peersOf(userId)) room.remove(peer, true);
    });
  }

  /** The meeting ended: every peer hears rtc:meetingEnded and the media room closes. */
  async ended(meetingId: string, endedBy: string, endedAt: string): Promise<void> {
    const room = await this.existing(meetingId);
    await room?.run(() => {
      room.broadcast({ type: 'rtc:meetingEnded', endedBy, endedAt });
      room.close('ended');
    });
  }

  /** The peers of a meeting's media room held here, with their producers (the admin API). */
  async media(meetingId: string): Promise<{ peers: RtcPeerInfo[] }> {
    const room = await this.existing(meetingId);
    return { peers: room ? [...room.peers.values()].map((p) => p.info()) : [] };
  }

  /**
   * An administrator pauses a producer (server-side mute): everyone, its owner included, hears
   * rtc:producerPaused. Unless `allowUnmute`, the owner's rtc:resumeProducer is refused
   * (mutedByAdmin); muting again with `allowUnmute` lets it resume.
   */
  async adminMute(meetingId: string, producerId: string, allowUnmute: boolean) {
    const room = await this.existing(meetingId);
    const peer = room?.ownerOf(producerId);
    if (!room || !peer) throw notFound('producer', producerId);
    return room.run(async () => {
      const producer = peer.producer(producerId);
      if (allowUnmute) peer.locked.delete(producerId);
      else peer.locked.add(producerId);
      if (!producer.paused) {
        await producer.pause();
        room.broadcast({ type: 'rtc:producerPaused', producerId, peerId: peer.peerId });
      }
      return { producerId, peerId: peer.peerId, allowUnmute };
    });
  }

  /** Shutdown: every peer hears rtc:mediaReset and every room closes. */
  close(): void {
    this.closing = true;
    for (const room of [...this.rooms.values()]) {
      room.broadcast({ type: 'rtc:mediaReset', reason: 'shutdown' });
      room.close('shutdown');
    }
  }

  /**
   * Refuses one more peer of `userId` (in `room`, or in a room still to be opened) beyond the
   * caps. What a user holds on this node: their peers, and the empty rooms their joins opened
   * (each keeps a router through its grace period, so join-and-leave cannot pile them up).
   */
  private checkPeerCaps(userId: string, room?: Room): void {
    const { peersPerUserPerMeeting, peersPerUser } = this.o.caps;
    if (room && room.peersOf(userId).length >= peersPerUserPerMeeting) {
      throw AppError.limitExceeded(
        `at most ${peersPerUserPerMeeting} connections of one user may join a meeting's media`,
        'peersPerUserPerMeeting',
        peersPerUserPerMeeting,
      );
    }
    let held = 0;
    for (const r of this.rooms.values()) {
      held +=
        r.peers.size === 0 ? Number(r.openedBy === userId && r !== room) : r.peersOf(userId).length;
    }
    if (held >= peersPerUser) {
      throw AppError.limitExceeded(
        `at most ${peersPerUser} connections of one user may be in meetings' media at once`,
        'peersPerUser',
        peersPerUser,
      );
    }
  }

  /** Throws the spec's error unless the sender is in the meeting (through REST) right now. */
  private async access(sender: Sender, meetingId: string): Promise<MeetingParticipant> {
    if (this.closing) throw AppError.unavailable();
    const meeting = await this.o.store.get(meetingId);
    if (!meeting) throw notFound('meeting', meetingId);
    if (meeting.status === 'ended') throw AppError.meetingEnded(meetingId);
    const participant = await this.o.store.participation(meetingId, sender.userId);
    if (!participant) {
      throw AppError.forbidden(
        'not a participant of this meeting: join it with POST /api/meetings/:meetingId/join first',
      );
    }
    return participant;
  }

  /**
   * Runs a request of a peer in its room's order. A sender without a peer in the meeting gets
   * the error of its situation: no meeting, meeting ended, not a participant, not rtc-joined.
   */
  private async withPeer<T>(
    sender: Sender,
    meetingId: string,
    job: (peer: Peer, room: Room) => T | Promise<T>,
  ): Promise<T> {
    const room = this.rooms.get(meetingId);
    const peer = room?.peerOf(sender.deviceId);
    if (!room || !peer) {
      await this.access(sender, meetingId);
      throw AppError.forbidden('not in the meeting media: send rtc:join first');
    }
    return room.run(() => {
      if (peer.closed) {
        throw room.closed === 'ended'
          ? AppError.meetingEnded(meetingId)
          : AppError.forbidden('no longer in the meeting media: send rtc:join again');
      }
      return job(peer, room);
    });
  }

  /** The meeting's open media room, or undefined. */
  private async existing(meetingId: string): Promise<Room | undefined> {
    const room = this.rooms.get(meetingId);
    if (room) return room;
    return this.opening.get(meetingId)?.catch(() => undefined);
  }

  /** The meeting's media room, opened on first use (by `userId`'s join). */
  private room(meetingId: string, userId: string): Promise<Room> {
    const room = this.rooms.get(meetingId);
    if (room && !room.closed) return Promise.resolve(room);
    let opening = this.opening.get(meetingId);
    if (!opening) {
      opening = this.open(meetingId, userId).finally(() => this.opening.delete(meetingId));
      this.opening.set(meetingId, opening);
    }
    return opening;
  }

  private async open(meetingId: string, openedBy: string): Promise<Room> {
    const sfu = await this.o.sfu.createRouter({ meetingId });
    const speaker = await sfu.router.createActiveSpeakerObserver();
    const room = new Room({
      meetingId,
      openedBy,
      sfu,
      speaker,
      delivery: this.o.delivery,
      emptyGraceMs: this.o.emptyRoomGraceMs,
      metrics: this.o.metrics,
      log: this.log,
    });
    room.once('close', () => {
      if (this.rooms.get(meetingId) === room) this.rooms.delete(meetingId);
      this.o.onRoomClosed?.(meetingId);
    });
    this.rooms.set(meetingId, room);
    if (this.closing) {
      room.close('shutdown');
      throw AppError.unavailable();
    }
    this.log.info({ event: 'rtc_room_opened', meetingId, pid: sfu.workerPid }, 'media room opened');
    return room;
  }
}
