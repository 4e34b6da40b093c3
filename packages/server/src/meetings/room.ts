import { EventEmitter } from 'node:events';
import { AppError, type RtcEvent, type RtcSpeaker } from '@parley/protocol';
import type { Delivery, SpanEvent } from '../core/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';
import type { ActiveSpeakerObserver, Router, SfuPool, SfuRouter } from '../sfu/index.ts';
import type { Peer } from './peer.ts';
import type { MeetingSpan } from './remote-producers.ts';
import { Pipes } from './pipes.ts';
import { place } from './placement.ts';
import { SerialQueue } from './serial.ts';
import { Speaker } from './speaker.ts';

/** Why a room closed. */
export type RoomCloseReason = 'empty' | 'ended' | 'worker_died' | 'shutdown';

/** What a room tells its owner. */
export type RoomEvents = {
  /** The room closed (once); its owner drops it. */
  close: [reason: RoomCloseReason];
};

/** What a room needs. */
export interface RoomOptions {
  meetingId: string;
  /** The user whose join opened the room: its router counts against them while it is empty. */
  openedBy: string;
  /** The meeting's first router, and the active speaker observer on it. */
  sfu: SfuRouter;
  speaker: ActiveSpeakerObserver;
  /** Where the meeting's further routers come from when it spreads over workers. */
  pool: Pick<SfuPool, 'createRouter' | 'leastLoaded' | 'workers'>;
  /** Consumers a worker takes before the meeting spreads to another (see placement.ts). */
  consumersPerWorker: number;
  delivery: Delivery;
  /** How long the room lives on without peers. */
  emptyGraceMs: number;
  /** The other nodes of a meeting that spans a cluster (see remote-producers.ts). */
  span?: MeetingSpan;
  metrics: Metrics;
  log: Logger;
}

/** An event without the meeting id, which the room adds. */
type WithoutMeeting<E> = E extends RtcEvent ? Omit<E, 'meetingId'> : never;
type RoomEvent = WithoutMeeting<RtcEvent>;

/** The broadcasts that the other nodes of a meeting spanning the cluster hear too. */
const SPANNING = new Set<RtcEvent['type']>([
  'rtc:peerJoined',
  'rtc:peerLeft',
  'rtc:newProducer',
  'rtc:producerClosed',
  'rtc:producerPaused',
  'rtc:producerResumed',
  'rtc:newDataProducer',
]);

/** Where a meeting's media is, router by router (tests, diagnostics). */
export interface RoomLayout {
  routers: Array<{ routerId: string; workerPid: number; peers: string[] }>;
  /** Producers and data producers piped from one router of the meeting to another now. */
  pipes: number;
  /** The router of the active speaker observer. */
  speakerRouterId: string;
}

/**
 * A meeting's media room: its routers (on one or more SFU workers: each peer is on one, placed
 * by `place`), the pipes between them, its peers, and the order in which work on it runs
 * (`run`). Closing is idempotent and cascades: peers' transports, then the routers. The room
 * closes itself after `emptyGraceMs` without peers, and when the workers of all its routers
 * died; a worker that dies while others carry the meeting resets only its own peers' media.
 */
export class Room extends EventEmitter<RoomEvents> {
  readonly meetingId: string;
  readonly openedBy: string;
  readonly createdAt = new Date();
  /** peerId → peer. */
  readonly peers = new Map<string, Peer>();
  private readonly byDevice = new Map<string, Peer>();
  private readonly queue = new SerialQueue();
  private emptyTimer: NodeJS.Timeout | null = null;
  private closeReason: RoomCloseReason | null = null;
  /** The observer's last dominant speaker (it says so only on a change). */
  private dominant: RtcSpeaker | null = null;
  private readonly log: Logger;
  /** The meeting's live routers, in the order they were opened. */
  private readonly routers: SfuRouter[] = [];
  /** Producers piped between the routers. */
  readonly pipes: Pipes;
  readonly speaker: Speaker;

  constructor(private readonly o: RoomOptions) {
    super();
    this.meetingId = o.meetingId;
    this.openedBy = o.openedBy;
    this.log = o.log.child({ meetingId: o.meetingId });
    this.pipes = new Pipes(o.metrics.meetingPipes);
    this.speaker = new Speaker(
      o.speaker,
      o.sfu.router,
      this.pipes,
      (producerId) => {
        // A peer of this node, or (a meeting spanning nodes) of another.
        const peerId = this.ownerOf(producerId)?.peerId ?? o.span?.peerOf(o.meetingId, producerId);
        if (peerId) {
          this.dominant = { peerId, producerId };
          this.broadcast({ type: 'rtc:activeSpeaker', ...this.dominant });
        }
      },
      this.log,
    );
    this.adopt(o.sfu);
    o.metrics.meetingRooms.inc();
    this.armEmptyTimer();
  }

  /** The meeting's first live router (every router has the same RTP capabilities). */
  get router(): Router {
    return (this.routers[0] ?? this.o.sfu).router;
  }

  /** Where the meeting's media is now. */
  layout(): RoomLayout {
    return {
      routers: this.routers.map(({ router, workerPid }) => ({
        routerId: router.id,
        workerPid,
        peers: [...this.peers.values()].filter((p) => p.router === router).map((p) => p.peerId),
      })),
      pipes: this.pipes.size,
      speakerRouterId: this.speaker.router.id,
    };
  }

  /**
   * The router for a peer about to join (see placement.ts): one of the meeting's, or a new one
   * on the least loaded worker; null when the room closed meanwhile. Runs in the room's order.
   */
  async place(): Promise<SfuRouter | null> {
    let expected = 0;
    for (const p of this.peers.values()) expected += p.producers.size;
    const least = await this.o.pool.leastLoaded();
    const where = place(
      this.routers.map((r) => r.workerPid),
      this.o.pool.workers(),
      this.o.consumersPerWorker,
      expected,
      least,
    );
    if ('router' in where) return this.routers[where.router] ?? null;
    const sfu = await this.o.pool.createRouter({ meetingId: this.meetingId }, where.newRouterOn);
    if (this.closeReason) {
      sfu.router.close();
      return null;
    }
    this.adopt(sfu);
    this.log.info(
      { event: 'rtc_room_spread', pid: sfu.workerPid, routers: this.routers.length },
      'meeting spread to another worker',
    );
    return sfu;
  }

  /** The live router of `router` (a peer's), for its transports. */
  sfuOf(router: Router): SfuRouter {
    const sfu = this.routers.find((r) => r.router === router);
    if (!sfu) throw AppError.invalidState('the media router of this peer is gone');
    return sfu;
  }

  /**
   * The dominant speaker now, for a peer that joins (the observer names one only when it
   * changes, so a joiner would otherwise wait for the next change, maybe for good); null when
   * none was named yet or its producer is gone.
   */
  get activeSpeaker(): RtcSpeaker | null {
    const s = this.dominant;
    const live =
      s &&
      (this.peers.get(s.peerId)?.producers.has(s.producerId) ||
        this.o.span?.peerOf(this.meetingId, s.producerId) === s.peerId);
    return s && live ? { ...s } : null;
  }

  /** Why the room closed, or null while it is open. */
  get closed(): RoomCloseReason | null {
    return this.closeReason;
  }

  /** Runs `job` after every job queued before it (the room's work is serialized). */
  run<T>(job: () => T | Promise<T>): Promise<T> {
    return this.queue.run(job);
  }

  /** The peer of a device, if that device joined. */
  peerOf(deviceId: string): Peer | undefined {
    return this.byDevice.get(deviceId);
  }

  /** The peers of one user (one per device). */
  peersOf(userId: string): Peer[] {
    return [...this.peers.values()].filter((p) => p.userId === userId);
  }

  /** The peer that owns a producer. */
  ownerOf(producerId: string): Peer | undefined {
    for (const peer of this.peers.values()) if (peer.producers.has(producerId)) return peer;
    return undefined;
  }

  /** Adds a peer; the others hear rtc:peerJoined. */
  add(peer: Peer): void {
    this.disarmEmptyTimer();
    this.broadcast({
      type: 'rtc:peerJoined',
      peerId: peer.peerId,
      userId: peer.userId,
      nickname: peer.nickname,
    });
    this.peers.set(peer.peerId, peer);
    this.byDevice.set(peer.device.deviceId, peer);
    this.o.metrics.meetingPeers.inc();
    this.log.info(
      {
        event: 'rtc_peer_joined',
        peerId: peer.peerId,
        userId: peer.userId,
        peers: this.peers.size,
      },
      'peer joined',
    );
  }

  /**
   * Removes a peer and closes its media; the others hear rtc:producerClosed for each of its
   * producers, then rtc:peerLeft. `told`: the peer itself hears rtc:left (it did not ask).
   */
  remove(peer: Peer, told = false): void {
    if (this.peers.get(peer.peerId) !== peer) return;
    this.peers.delete(peer.peerId);
    this.byDevice.delete(peer.device.deviceId);
    this.o.metrics.meetingPeers.dec();
    const producers = [...peer.producers.keys()];
    peer.close();
    this.dropIdle(peer.router);
    for (const producerId of producers) {
      this.broadcast({ type: 'rtc:producerClosed', producerId, peerId: peer.peerId });
    }
    this.broadcast({ type: 'rtc:peerLeft', peerId: peer.peerId, userId: peer.userId });
    if (told) this.send(peer, { type: 'rtc:left', peerId: peer.peerId });
    this.log.info(
      { event: 'rtc_peer_left', peerId: peer.peerId, userId: peer.userId, peers: this.peers.size },
      'peer left',
    );
    if (this.peers.size === 0) this.armEmptyTimer();
  }

  /** The other nodes of the meeting, when it spans a cluster. */
  get span(): MeetingSpan | undefined {
    return this.o.span;
  }

  /**
   * Sends an event to every peer but `except`; news of the peers goes to the other nodes of the
   * meeting too, when it spans a cluster.
   */
  broadcast(event: RoomEvent, except?: Peer): void {
    if (this.o.span && SPANNING.has(event.type)) {
      this.o.span.relay(this.meetingId, { ...event, meetingId: this.meetingId } as SpanEvent);
    }
    this.broadcastHere(event, except);
  }

  /** Sends an event to every peer of this node but `except`. */
  broadcastHere(event: RoomEvent, except?: Peer): void {
    const full = { ...event, meetingId: this.meetingId };
    for (const peer of this.peers.values()) {
      if (peer !== except) this.o.delivery.toDevice(peer.device, full);
    }
  }

  /** Sends an event to one peer. */
  send(peer: Peer, event: RoomEvent): void {
    this.o.delivery.toDevice(peer.device, { ...event, meetingId: this.meetingId });
  }

  /** Closes the room: every peer's media, then the router; idempotent. */
  close(reason: RoomCloseReason): void {
    if (this.closeReason) return;
    this.closeReason = reason;
    this.disarmEmptyTimer();
    this.o.metrics.meetingPeers.dec(this.peers.size);
    // The other nodes of a spanning meeting keep it (unless it ended everywhere): they hear
    // that these peers went.
    const span = reason === 'ended' ? undefined : this.o.span;
    for (const peer of this.peers.values()) {
      for (const producerId of peer.producers.keys()) {
        span?.relay(this.meetingId, {
          type: 'rtc:producerClosed',
          producerId,
          peerId: peer.peerId,
          meetingId: this.meetingId,
        });
      }
      const { peerId, userId } = peer;
      span?.relay(this.meetingId, {
        type: 'rtc:peerLeft',
        peerId,
        userId,
        meetingId: this.meetingId,
      });
      peer.close();
    }
    this.peers.clear();
    this.byDevice.clear();
    for (const { router } of this.routers.splice(0)) router.close();
    this.o.metrics.meetingRooms.dec();
    this.log.info({ event: 'rtc_room_closed', reason }, 'media room closed');
    this.emit('close', reason);
  }

  /** Counts a router as the meeting's; a worker that dies takes only its own peers' media. */
  private adopt(sfu: SfuRouter): void {
    this.routers.push(sfu);
    sfu.router.once('workerclose', () => this.routerLost(sfu));
  }

  private routerLost(sfu: SfuRouter): void {
    const i = this.routers.indexOf(sfu);
    if (i < 0 || this.closeReason) return;
    this.routers.splice(i, 1);
    if (this.routers.length === 0) {
      this.broadcast({ type: 'rtc:mediaReset', reason: 'worker_died' });
      this.close('worker_died');
      return;
    }
    // The others hear rtc:producerClosed and rtc:peerLeft for each peer of the lost router, and
    // these peers rtc:mediaReset: they rejoin, onto a live router.
    for (const peer of [...this.peers.values()]) {
      if (peer.router !== sfu.router) continue;
      this.remove(peer);
      this.send(peer, { type: 'rtc:mediaReset', reason: 'worker_died' });
    }
    this.log.warn(
      { event: 'rtc_router_lost', pid: sfu.workerPid, routers: this.routers.length },
      "a worker of the meeting died; its peers' media reset",
    );
    if (this.speaker.router === sfu.router) {
      // The new home is chosen when the job runs: a router may close before (dropIdle).
      this.run(() => {
        const home = this.routers[0];
        if (home && !this.closeReason) return this.speaker.rehome(home.router);
      }).catch((err: unknown) =>
        this.log.error({ event: 'rtc_speaker_lost', err }, 'active speaker observer not moved'),
      );
    }
  }

  /** Closes a router no peer of the meeting uses (not the observer's, nor the last one). */
  private dropIdle(router: Router): void {
    if (router === this.speaker.router || this.routers.length <= 1) return;
    for (const p of this.peers.values()) if (p.router === router) return;
    const i = this.routers.findIndex((r) => r.router === router);
    if (i >= 0) this.routers.splice(i, 1);
    router.close();
  }

  private armEmptyTimer(): void {
    this.disarmEmptyTimer();
    this.emptyTimer = setTimeout(() => {
      void this.run(() => {
        if (this.peers.size === 0) this.close('empty');
      });
    }, this.o.emptyGraceMs);
    this.emptyTimer.unref();
  }

  private disarmEmptyTimer(): void {
    if (this.emptyTimer) clearTimeout(this.emptyTimer);
    this.emptyTimer = null;
  }
}
