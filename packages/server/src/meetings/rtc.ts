import type { MeetingParticipant } from '@parley/protocol';
import {
  AppError,
  type DeviceRef,
  type RtcCapabilitiesCommand,
  type RtcCommand,
  type RtcCommandType,
  type RtcJoinCommand,
  type RtcJoined,
  type RtcPeerInfo,
  type RtcConsumerCommand,
  type RtcProducerCommand,
  type RtcTransportCommand,
} from '@parley/protocol';
import type {
  Clock,
  Delivery,
  MeetingRecords,
  MeetingSpanPort,
  Sender,
  UserPeers,
} from '../core/index.ts';
import type { Config } from '../config/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';
import type { RtpCapabilities, Router, SfuPool } from '../sfu/index.ts';
import * as consumers from './consumers.ts';
import * as data from './data-channels.ts';
import { notFound } from './errors.ts';
import { Peer } from './peer.ts';
import * as producers from './producers.ts';
import { MeetingSpan } from './remote-producers.ts';
import { Room, type RoomLayout } from './room.ts';
import * as transports from './transports.ts';

/** What the rtc service needs. */
export interface RtcServiceOptions {
  store: MeetingRecords;
  sfu: SfuPool;
  delivery: Delivery;
  emptyRoomGraceMs: number;
  /** Consumers a worker takes before a meeting spreads to another worker. */
  consumersPerWorker: number;
  caps: Pick<Config['caps'], 'peersPerUserPerMeeting' | 'peersPerUser' | 'transportsPerPeer'>;
  /** Users' peers on every node (this one alone on a single node), for `caps.peersPerUser`. */
  userPeers: UserPeers;
  /** A meeting's media room closed on this node (cluster mode gives up its claim on it). */
  onRoomClosed?: (meetingId: string) => void;
  /**
   * The cluster, when a meeting spans its nodes: each node serves its own peers, and the nodes
   * of a meeting exchange news of their peers and pipe producers to each other.
   */
  span?: MeetingSpanPort;
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

/** Joining retries when the room it found closed meanwhile (emptied, or its worker died). */
const JOIN_ATTEMPTS = 3;

const deviceOf = ({ userId, deviceId, clientType }: Sender): DeviceRef => ({
  userId,
  deviceId,
  clientType,
});

/**
 * The meeting signaling of specs/meeting-sfu.md on the SFU: one media room per meeting, opened
 * with a router on the least loaded worker and spread over routers on more workers as it grows
 * (room.ts), peers per device, and every rtc:* request. Every request is checked against the
 * sender: rtc:join needs a REST participation; everything else needs the sender's own peer and
 * only ever finds that peer's own transports, producers and consumers. Work on a meeting runs
 * one request at a time, but for rtc:connectTransport, which touches one transport alone.
 */
export class RtcService {
  private readonly rooms = new Map<string, Room>();
  private readonly opening = new Map<string, Promise<Room>>();
  private closing = false;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** The meetings' other nodes, when meetings span the cluster; null otherwise. */
  readonly span: MeetingSpan | null;

  constructor(private readonly o: RtcServiceOptions) {
    this.clock = o.clock ?? Date.now;
    this.log = o.log.child({ mod: 'meetings' });
    this.span = o.span
      ? new MeetingSpan(o.span, o.sfu, (id) => this.rooms.get(id), this.log)
      : null;
  }

  /** Meetings with a live media room on this node. */
  get size(): number {
    return this.rooms.size;
  }

  /** Whether the meeting has a live media room on this node. */
  has(meetingId: string): boolean {
    return this.rooms.has(meetingId);
  }

  /** The meetings in which the device has a peer on this node. */
  meetingsOf(deviceId: string): string[] {
    return [...this.rooms.values()].filter((r) => r.peerOf(deviceId)).map((r) => r.meetingId);
  }

  /** The meeting's router, while its media room is open (benchmarks, diagnostics). */
  router(meetingId: string): Router | undefined {
    return this.rooms.get(meetingId)?.router;
  }

  /** Where the meeting's media is on this node: routers, their peers, pipes (diagnostics). */
  layout(meetingId: string): RoomLayout | undefined {
    return this.rooms.get(meetingId)?.layout();
  }

  /**
   * Registers a handler for every rtc:* command. Every command but rtc:join and
   * rtc:getRouterRtpCapabilities runs on the sender's own peer, in its room's order (but
   * rtc:connectTransport); the work on each entity is in its own file (transports, producers,
   * consumers, data channels).
   */
  register(r: RtcHandlerRegistry): void {
    const { transportsPerPeer } = this.o.caps;
    r.on('rtc:join', (s, c) => this.join(s, c));
    r.on('rtc:getRouterRtpCapabilities', (s, c) => this.capabilities(s, c));
    r.on('rtc:createTransport', (s, c) =>
      this.withPeer(s, c.meetingId, (p, room) =>
        transports.createTransport(p, room, c, transportsPerPeer),
      ),
    );
    r.on('rtc:connectTransport', (s, c) =>
      // Out of the room's order: it touches the peer's own transport alone, and would wait
      // there behind the peer's consumes (and the pipes they make), holding up its DTLS and so
      // its first frame.
      this.withPeer(s, c.meetingId, (p) => transports.connectTransport(p, c), false),
    );
    r.on('rtc:restartIce', (s, c: RtcTransportCommand) =>
      this.withPeer(s, c.meetingId, (p) => transports.restartIce(p, c)),
    );
    r.on('rtc:getTransportStats', (s, c: RtcTransportCommand) =>
      this.withPeer(s, c.meetingId, (p) => transports.transportStats(p, c)),
    );
    r.on('rtc:produce', (s, c) =>
      this.withPeer(s, c.meetingId, (p, room) => producers.produce(p, room, c)),
    );
    r.on('rtc:closeProducer', (s, c: RtcProducerCommand) =>
      this.withPeer(s, c.meetingId, (p, room) => producers.closeProducer(p, room, c)),
    );
    r.on('rtc:pauseProducer', (s, c: RtcProducerCommand) =>
      this.withPeer(s, c.meetingId, (p, room) => producers.pauseProducer(p, room, c, true)),
    );
    r.on('rtc:resumeProducer', (s, c: RtcProducerCommand) =>
      this.withPeer(s, c.meetingId, (p, room) => producers.pauseProducer(p, room, c, false)),
    );
    r.on('rtc:getProducerStats', (s, c: RtcProducerCommand) =>
      this.withPeer(s, c.meetingId, (p) => producers.producerStats(p, c)),
    );
    r.on('rtc:consume', (s, c) =>
      this.withPeer(s, c.meetingId, (p, room) => consumers.consume(p, room, c)),
    );
    r.on('rtc:resumeConsumer', (s, c: RtcConsumerCommand) =>
      this.withPeer(s, c.meetingId, (p, room) => consumers.pauseConsumer(p, room, c, false)),
    );
    r.on('rtc:pauseConsumer', (s, c: RtcConsumerCommand) =>
      this.withPeer(s, c.meetingId, (p, room) => consumers.pauseConsumer(p, room, c, true)),
    );
    r.on('rtc:requestConsumerKeyFrame', (s, c: RtcConsumerCommand) =>
      this.withPeer(s, c.meetingId, (p) => consumers.requestKeyFrame(p, c)),
    );
    r.on('rtc:getConsumerStats', (s, c: RtcConsumerCommand) =>
      this.withPeer(s, c.meetingId, (p) => consumers.consumerStats(p, c)),
    );
    r.on('rtc:setConsumerPreferredLayers', (s, c) =>
      this.withPeer(s, c.meetingId, (p) => consumers.preferredLayers(p, c)),
    );
    r.on('rtc:setConsumerPriority', (s, c) =>
      this.withPeer(s, c.meetingId, (p) => consumers.priority(p, c)),
    );
    r.on('rtc:produceData', (s, c) =>
      this.withPeer(s, c.meetingId, (p, room) => data.produceData(p, room, c)),
    );
    r.on('rtc:consumeData', (s, c) =>
      this.withPeer(s, c.meetingId, (p, room) => data.consumeData(p, room, c)),
    );
    r.on('rtc:leave', (s, c) =>
      // The peer leaves the media room; its REST participation stays.
      this.withPeer(s, c.meetingId, (p, room) => {
        room.remove(p);
        return { peerId: p.peerId };
      }),
    );
  }

  /** rtc:join: a new peer for the sender's device; returns the peers already there. */
  async join(sender: Sender, c: RtcJoinCommand): Promise<RtcJoined> {
    const { userId } = sender;
    let checked = false;
    // The user's slot under the peer cap across meetings: taken once, held by the peer once it
    // exists (and given back when it closes), given back here if the join fails before.
    let slot = false;
    try {
      for (let attempt = 0; attempt < JOIN_ATTEMPTS; attempt++) {
        // Checked before a room and its router are opened, so that refused joins open none. A
        // join into an open room is checked in the room's order alone (below): once is enough
        // on the way to a first frame.
        if (!this.rooms.has(c.meetingId)) {
          if (!checked) await this.access(sender, c.meetingId);
          checked = true;
          slot ||= await this.takeSlot(userId);
        }
        const room = await this.room(c.meetingId, userId);
        const joined = await room.run(async () => {
          if (room.closed) return null;
          if (room.peerOf(sender.deviceId)) {
            throw AppError.invalidState('this connection already joined the meeting media');
          }
          // Checked again in the room's order: a REST leave or end may have come in between.
          const participant = await this.access(sender, c.meetingId);
          if (room.closed) return null;
          this.checkMeetingCap(userId, room);
          slot ||= await this.takeSlot(userId, room);
          const sfu = room.closed ? null : await room.place();
          if (!sfu || room.closed) return null;
          const peers = [...room.peers.values()].map((p) => p.info());
          peers.push(...(this.span?.peers(c.meetingId) ?? []));
          const peer = new Peer(deviceOf(sender), participant.nickname, sfu.router, () =>
            this.o.userPeers.give(userId),
          );
          slot = false;
          room.add(peer);
          return { peerId: peer.peerId, peers, activeSpeaker: room.activeSpeaker };
        });
        if (joined) return joined;
      }
      throw AppError.internal();
    } finally {
      if (slot) this.o.userPeers.give(userId);
    }
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
          // The user is still in the meeting while a device of theirs is, on any node.
          const { userId } = sender;
          if (room.peersOf(userId).length + this.peersElsewhere(room.meetingId, userId) === 0) {
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
   * Refuses one more peer of `userId` in `room` beyond the cap of a meeting: the user's peers
   * there (on every node of a meeting spanning the cluster).
   */
  private checkMeetingCap(userId: string, room: Room): void {
    const { peersPerUserPerMeeting } = this.o.caps;
    const inMeeting = room.peersOf(userId).length + this.peersElsewhere(room.meetingId, userId);
    if (inMeeting >= peersPerUserPerMeeting) {
      throw AppError.limitExceeded(
        `at most ${peersPerUserPerMeeting} connections of one user may join a meeting's media`,
        'peersPerUserPerMeeting',
        peersPerUserPerMeeting,
      );
    }
  }

  /**
   * Takes a slot for one more peer of `userId` (in `room`, or in a room still to be opened), or
   * refuses it beyond the cap across meetings: the user's peers and joins under way on every
   * node of the cluster, and the empty rooms their joins opened on this one (each keeps a router
   * through its grace period, so join-and-leave cannot pile them up). A room a join of theirs
   * still under way opened counts twice until its peer is in (a refusal a moment early).
   */
  private async takeSlot(userId: string, room?: Room): Promise<true> {
    const { peersPerUser } = this.o.caps;
    let opened = 0;
    for (const r of this.rooms.values()) {
      opened += Number(r.peers.size === 0 && r.openedBy === userId && r !== room);
    }
    if (!(await this.o.userPeers.take(userId, peersPerUser, opened))) {
      throw AppError.limitExceeded(
        `at most ${peersPerUser} connections of one user may be in meetings' media at once`,
        'peersPerUser',
        peersPerUser,
      );
    }
    return true;
  }

  /** The user's peers in a meeting spanning the cluster on its other nodes (0 on one node). */
  private peersElsewhere(meetingId: string, userId: string): number {
    return this.span?.peers(meetingId).filter((p) => p.userId === userId).length ?? 0;
  }

  /** Throws the spec's error unless the sender is in the meeting (through REST) right now. */
  private async access(sender: Sender, meetingId: string): Promise<MeetingParticipant> {
    if (this.closing) throw AppError.unavailable();
    // Both at once: every join waits on this (twice for the first of a room).
    const [meeting, participant] = await Promise.all([
      this.o.store.get(meetingId),
      this.o.store.participation(meetingId, sender.userId),
    ]);
    if (!meeting) throw notFound('meeting', meetingId);
    if (meeting.status === 'ended') throw AppError.meetingEnded(meetingId);
    if (!participant) {
      throw AppError.forbidden(
        'not a participant of this meeting: join it with POST /api/meetings/:meetingId/join first',
      );
    }
    return participant;
  }

  /**
   * Runs a request of a peer in its room's order (or at once, unless `ordered`). A sender
   * without a peer in the meeting gets the error of its situation: no meeting, meeting ended,
   * not a participant, not rtc-joined.
   */
  private async withPeer<T>(
    sender: Sender,
    meetingId: string,
    job: (peer: Peer, room: Room) => T | Promise<T>,
    ordered = true,
  ): Promise<T> {
    const room = this.rooms.get(meetingId);
    const peer = room?.peerOf(sender.deviceId);
    if (!room || !peer) {
      await this.access(sender, meetingId);
      throw AppError.forbidden('not in the meeting media: send rtc:join first');
    }
    const run = () => {
      if (peer.closed) {
        throw room.closed === 'ended'
          ? AppError.meetingEnded(meetingId)
          : AppError.forbidden('no longer in the meeting media: send rtc:join again');
      }
      return job(peer, room);
    };
    return ordered ? room.run(run) : run();
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
      pool: this.o.sfu,
      consumersPerWorker: this.o.consumersPerWorker,
      delivery: this.o.delivery,
      emptyGraceMs: this.o.emptyRoomGraceMs,
      ...(this.span ? { span: this.span } : {}),
      metrics: this.o.metrics,
      log: this.log,
    });
    room.once('close', () => {
      if (this.rooms.get(meetingId) === room) this.rooms.delete(meetingId);
      this.span?.closed(meetingId);
      this.o.onRoomClosed?.(meetingId);
    });
    this.rooms.set(meetingId, room);
    if (this.closing) {
      room.close('shutdown');
      throw AppError.unavailable();
    }
    if (this.span) {
      try {
        await this.span.opened(meetingId);
      } catch (err) {
        room.close('shutdown');
        throw err;
      }
    }
    this.log.info({ event: 'rtc_room_opened', meetingId, pid: sfu.workerPid }, 'media room opened');
    return room;
  }
}
