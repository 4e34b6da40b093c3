import { EventEmitter } from 'node:events';
import type { RtcEvent, RtcSpeaker } from '@parley/protocol';
import type { Delivery } from '../core/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';
import type { ActiveSpeakerObserver, Router, SfuRouter } from '../sfu/index.ts';
import type { Peer } from './peer.ts';
import { SerialQueue } from './serial.ts';

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
  sfu: SfuRouter;
  speaker: ActiveSpeakerObserver;
  delivery: Delivery;
  /** How long the room lives on without peers. */
  emptyGraceMs: number;
  metrics: Metrics;
  log: Logger;
}

/** An event without the meeting id, which the room adds. */
type WithoutMeeting<E> = E extends RtcEvent ? Omit<E, 'meetingId'> : never;
type RoomEvent = WithoutMeeting<RtcEvent>;

/**
 * A meeting's media room: its router (on one SFU worker), its peers, and the order in which work
 * on it runs (`run`). Closing is idempotent and cascades: peers' transports, then the router.
 * The room closes itself after `emptyGraceMs` without peers, and when its worker dies.
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

  constructor(private readonly o: RoomOptions) {
    super();
    this.meetingId = o.meetingId;
    this.openedBy = o.openedBy;
    this.log = o.log.child({ meetingId: o.meetingId });
    o.sfu.router.once('workerclose', () => {
      this.broadcast({ type: 'rtc:mediaReset', reason: 'worker_died' });
      this.close('worker_died');
    });
    o.speaker.on('dominantspeaker', ({ producer }) => {
      const owner = this.ownerOf(producer.id);
      if (owner) {
        this.dominant = { peerId: owner.peerId, producerId: producer.id };
        this.broadcast({ type: 'rtc:activeSpeaker', ...this.dominant });
      }
    });
    o.metrics.meetingRooms.inc();
    this.armEmptyTimer();
  }

  get router(): Router {
    return this.o.sfu.router;
  }

  get sfu(): SfuRouter {
    return this.o.sfu;
  }

  get speaker(): ActiveSpeakerObserver {
    return this.o.speaker;
  }

  /**
   * The dominant speaker now, for a peer that joins (the observer names one only when it
   * changes, so a joiner would otherwise wait for the next change, maybe for good); null when
   * none was named yet or its producer is gone.
   */
  get activeSpeaker(): RtcSpeaker | null {
    const s = this.dominant;
    return s && this.peers.get(s.peerId)?.producers.has(s.producerId) ? { ...s } : null;
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

  /** Sends an event to every peer but `except`. */
  broadcast(event: RoomEvent, except?: Peer): void {
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
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    this.byDevice.clear();
    this.o.sfu.router.close();
    this.o.metrics.meetingRooms.dec();
    this.log.info({ event: 'rtc_room_closed', reason }, 'media room closed');
    this.emit('close', reason);
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
