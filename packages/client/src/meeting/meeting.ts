import type { Device, types } from 'mediasoup-client';
import type { IceServer, RtcEvent, RtcJoined, ServerEvent } from '@parley/protocol';
import { Emitter } from '../emitter.ts';
import { ParleyError } from '../errors.ts';
import type { RestApi } from '../rest.ts';
import type { Signaling } from '../signaling.ts';
import { MeetingDevices } from './devices.ts';

/** What a published or received track is. */
export type TrackSource = 'camera' | 'mic' | 'screen';

/** A remote track this device receives. */
export interface RemoteTrack {
  consumerId: string;
  producerId: string;
  peerId: string;
  kind: 'audio' | 'video';
  source: TrackSource;
  track: MediaStreamTrack;
  /** Paused by its owner (muted microphone, camera off). */
  paused: boolean;
}

/** Another participant's device in the meeting's media. */
export interface MeetingPeer {
  peerId: string;
  userId: string;
  nickname: string;
  /** Its tracks this device receives, by producer id. */
  tracks: Map<string, RemoteTrack>;
}

/** Why this device is out of the meeting's media. */
export type MeetingEndReason = 'left' | 'ended' | 'removed';

/** Events of a meeting. */
export type MeetingEvents = {
  peerJoined: [MeetingPeer];
  peerLeft: [MeetingPeer];
  /** A remote track can be rendered. */
  trackAdded: [RemoteTrack];
  trackRemoved: [RemoteTrack];
  /** A remote track was paused or resumed by its owner. */
  trackPaused: [RemoteTrack];
  /** The loudest participant changed (also `activeSpeaker` on the meeting). */
  activeSpeaker: [{ peerId: string }];
  /** This device's local camera/microphone/screen stream changed. */
  localStream: [MediaStream];
  /** The meeting's media was rebuilt after a lost session or an SFU restart. */
  rejoined: [];
  /** This device is out: `left` (leave()), `ended` (the host ended it), `removed` (elsewhere). */
  closed: [{ reason: MeetingEndReason }];
};

/** How a meeting starts. */
export interface MeetingOptions {
  meetingId: string;
  signaling: Signaling;
  rest: RestApi;
  /** The name others see; default: the token's name. */
  nickname?: string;
  /** The client's loaded mediasoup-client Devices, shared by its meetings (see MeetingDevices). */
  devices?: MeetingDevices;
  /** `relay`: the transports use TURN candidates only. */
  iceTransportPolicy?: RTCIceTransportPolicy;
}

/** What `publish()` sends. */
export interface PublishOptions {
  audio?: boolean | MediaTrackConstraints;
  video?: boolean | MediaTrackConstraints;
  /** Simulcast layers for the camera (three by default). */
  simulcast?: boolean;
}

/** The camera's three simulcast layers, as specs/meeting-sfu.md publishes them. */
const SIMULCAST: RTCRtpEncodingParameters[] = [
  { rid: 'r0', maxBitrate: 100_000, scaleResolutionDownBy: 4 },
  { rid: 'r1', maxBitrate: 300_000, scaleResolutionDownBy: 2 },
  { rid: 'r2', maxBitrate: 1_500_000, scaleResolutionDownBy: 1 },
].map((e) => ({ ...e, scalabilityMode: 'S1T3' }) as RTCRtpEncodingParameters);

type Data = Record<string, unknown>;

/** A remote producer to receive: from rtc:join's answer, or an rtc:newProducer. */
interface Wanted {
  producerId: string;
  peerId: string;
  paused: boolean;
  appData: Data;
}

/** What rtc:consume answers: what recvTransport.consume() takes, and the producer's state. */
type ConsumeAnswer = types.ConsumerOptions & { producerPaused?: boolean };

/** What the SFU said of a producer while its consumer was being made (its events had no track). */
interface InFlight {
  paused?: boolean;
  closed?: boolean;
}

/**
 * A meeting on the SFU with mediasoup-client (specs/meeting-sfu.md, front-end section): join,
 * publish the microphone and a simulcast camera, share the screen, receive every other
 * participant's tracks as they appear, follow the active speaker, leave. If the signaling comes
 * back as a new device, or the SFU lost the room, the meeting rebuilds its media by itself.
 */
export class Meeting extends Emitter<MeetingEvents> {
  readonly meetingId: string;
  /** This device's peer id (changes when the media is rebuilt). */
  peerId = '';
  /** The other participants' devices, by peer id. */
  readonly peers = new Map<string, MeetingPeer>();
  /**
   * The peer id of the loudest participant (this device's own `peerId` when it is this one),
   * known from the moment the meeting is joined; null while the SFU has named none.
   */
  activeSpeaker: string | null = null;
  private readonly devices: MeetingDevices;
  /** Loaded at each join (rtc:join waits for nothing else to use it). */
  private device!: Device;
  private local: MediaStream | null = null;
  /** What this device publishes, by source, to publish again after a rebuild. */
  private readonly published = new Map<TrackSource, MediaStreamTrack>();
  private send: types.Transport | null = null;
  private recv: types.Transport | null = null;
  private iceServers: IceServer[] = [];
  private readonly producers = new Map<TrackSource, types.Producer>();
  private readonly consumers = new Map<string, { consumer: types.Consumer; remote: RemoteTrack }>();
  /** Producers being received, by id, from the answer that named them to their trackAdded. */
  private readonly inFlight = new Map<string, InFlight>();
  /** rtc:newProducer's producers that wait for their turn: received together when it comes. */
  private fresh: Wanted[] = [];
  private screen: MediaStream | null = null;
  /** rtc:activeSpeaker events so far: one during rtc:join is newer than its snapshot. */
  private speakerEvents = 0;
  /**
   * While rtc:join's answer is on its way, the peers and producers the SFU said went: events
   * can overtake that answer (the server keeps a connection's answers in order, and the
   * capabilities' may still be worked out), and its snapshot is older than they are.
   */
  private joining: { left: Set<string>; closed: Set<string> } | null = null;
  /** Work on the media runs one step at a time (joins, publishes, consumes). */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly unsubscribe: Array<() => void> = [];
  private closed = false;

  constructor(private readonly o: MeetingOptions) {
    super();
    this.meetingId = o.meetingId;
    this.devices = o.devices ?? new MeetingDevices();
    this.unsubscribe.push(
      o.signaling.on('event', (e) => this.onEvent(e)),
      o.signaling.on('sessionLost', () => void this.rebuild()),
    );
  }

  /** The local camera and microphone (null before publish()). */
  get localStream(): MediaStream | null {
    return this.local;
  }

  /** Whether this device is still in the meeting's media. */
  get active(): boolean {
    return !this.closed;
  }

  /** Enters the meeting (REST) and its media; receives everything already published. */
  async join(): Promise<void> {
    await this.o.rest.joinMeeting(this.meetingId, this.o.nickname);
    this.iceServers = await this.o.rest.meetingIceServers(this.meetingId);
    try {
      await this.serial(() => this.enter());
    } catch (err) {
      // Half in, the SFU may hold a peer of this device, which refuses the next rtc:join of
      // this connection ('already joined'), and this object would follow the meeting for no one.
      await this.leave(true);
      throw err;
    }
  }

  /** Publishes the microphone and the camera (simulcast); resolves with the local stream. */
  async publish(options: PublishOptions = {}): Promise<MediaStream> {
    const audio = options.audio ?? true;
    const video = options.video ?? true;
    const stream = await capture(() => navigator.mediaDevices.getUserMedia({ audio, video }));
    this.local = stream;
    await this.serial(async () => {
      const mic = stream.getAudioTracks()[0];
      const cam = stream.getVideoTracks()[0];
      if (mic) await this.produce('mic', mic);
      if (cam) await this.produce('camera', cam, options.simulcast ?? true);
    });
    this.emit('localStream', stream);
    return stream;
  }

  /** Shares the screen (until stopScreenShare() or the browser's own stop button). */
  async shareScreen(): Promise<MediaStream> {
    if (this.screen) return this.screen;
    if (!navigator.mediaDevices?.getDisplayMedia) throw ParleyError.unsupported('screen sharing');
    const stream = await capture(() => navigator.mediaDevices.getDisplayMedia({ video: true }));
    const track = stream.getVideoTracks()[0]!;
    this.screen = stream;
    track.addEventListener('ended', () => void this.stopScreenShare());
    await this.serial(() => this.produce('screen', track));
    return stream;
  }

  /** Stops sharing the screen. */
  async stopScreenShare(): Promise<void> {
    const stream = this.screen;
    if (!stream) return;
    this.screen = null;
    for (const t of stream.getTracks()) t.stop();
    await this.serial(() => this.unpublish('screen'));
  }

  /** Mutes or unmutes the microphone (the others see the producer paused). */
  async setMicMuted(muted: boolean): Promise<void> {
    await this.pause('mic', muted);
  }

  /** Turns the camera off or on for the others. */
  async setCameraOff(off: boolean): Promise<void> {
    await this.pause('camera', off);
  }

  /** Leaves the meeting: its media, and (unless `keepParticipation`) the meeting itself. */
  async leave(keepParticipation = false): Promise<void> {
    if (this.closed) return;
    await this.o.signaling
      .request('rtc:leave', { meetingId: this.meetingId })
      .catch(() => undefined);
    if (!keepParticipation) await this.o.rest.leaveMeeting(this.meetingId).catch(() => undefined);
    this.close('left');
  }

  /** Ends the meeting for everyone (the host only). */
  async end(): Promise<void> {
    await this.o.rest.endMeeting(this.meetingId);
  }

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.chain.then(job);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private request<T = Data>(type: string, data: Data = {}): Promise<T> {
    return this.o.signaling.request<T>(type, { meetingId: this.meetingId, ...data });
  }

  /**
   * rtc:join and the transports; then receives every producer already there. As a good
   * mediasoup-client app does (the bench page, README "Where a join's time goes"): rtc:join goes
   * beside the capabilities and device.load (neither needs the other), both transports at once,
   * every producer at once. One after the other, a third joiner on a loaded machine took over
   * 90 s to get here, most of it one recv renegotiation per producer.
   */
  private async enter(): Promise<void> {
    const events = this.speakerEvents;
    const early = { left: new Set<string>(), closed: new Set<string>() };
    this.joining = early;
    let joined: RtcJoined;
    try {
      [joined] = await Promise.all([this.request<RtcJoined>('rtc:join'), this.loadDevice()]);
    } finally {
      this.joining = null;
    }
    this.peerId = joined.peerId;
    // The speaker named before this join (the SFU says so again only when it changes), unless
    // a change came while the answer was on its way.
    if (this.speakerEvents === events) this.activeSpeaker = joined.activeSpeaker?.peerId ?? null;
    if (this.activeSpeaker && early.left.has(this.activeSpeaker)) this.activeSpeaker = null;
    // Known from the answer on: a peer that leaves, or a producer that pauses or closes, while
    // the transports are made is told by events that must find them.
    const wanted: Wanted[] = [];
    for (const p of joined.peers) {
      if (early.left.has(p.peerId)) continue;
      this.addPeer(p);
      for (const { id, paused, appData } of p.producers) {
        if (early.closed.has(id)) continue;
        wanted.push({ producerId: id, peerId: p.peerId, paused, appData });
        this.inFlight.set(id, {});
      }
    }
    try {
      [this.send, this.recv] = await Promise.all([this.transport('send'), this.transport('recv')]);
    } catch (err) {
      for (const w of wanted) this.inFlight.delete(w.producerId);
      throw err;
    }
    await this.consume(wanted);
    if (this.activeSpeaker) this.emit('activeSpeaker', { peerId: this.activeSpeaker });
  }

  /** The router's capabilities, and a Device loaded with them (the client's, when it has one). */
  private async loadDevice(): Promise<void> {
    const { rtpCapabilities } = await this.request<{ rtpCapabilities: types.RtpCapabilities }>(
      'rtc:getRouterRtpCapabilities',
    );
    this.device = await this.devices.device(rtpCapabilities);
  }

  private async transport(direction: 'send' | 'recv'): Promise<types.Transport> {
    const t = await this.request<Data>('rtc:createTransport', { direction });
    const options: types.TransportOptions = {
      id: t.transportId as string,
      iceParameters: t.iceParameters as types.IceParameters,
      iceCandidates: t.iceCandidates as types.IceCandidate[],
      dtlsParameters: t.dtlsParameters as types.DtlsParameters,
      iceServers: this.iceServers,
      ...(this.o.iceTransportPolicy ? { iceTransportPolicy: this.o.iceTransportPolicy } : {}),
    };
    const transport =
      direction === 'send'
        ? this.device.createSendTransport(options)
        : this.device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.request('rtc:connectTransport', { transportId: transport.id, dtlsParameters }).then(
        () => callback(),
        errback,
      );
    });
    transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
      this.request<{ producerId: string }>('rtc:produce', {
        transportId: transport.id,
        kind,
        rtpParameters,
        appData,
      }).then(({ producerId }) => callback({ id: producerId }), errback);
    });
    transport.on('connectionstatechange', (state) => {
      if (state === 'failed' || state === 'disconnected') void this.restartIce(transport);
    });
    return transport;
  }

  private async restartIce(transport: types.Transport): Promise<void> {
    if (transport.closed || this.closed) return;
    try {
      const { iceParameters } = await this.request<{ iceParameters: types.IceParameters }>(
        'rtc:restartIce',
        { transportId: transport.id },
      );
      if (!transport.closed) await transport.restartIce({ iceParameters });
    } catch {
      // The next state change tries again; a lost room is rebuilt through rtc:mediaReset.
    }
  }

  private async produce(source: TrackSource, track: MediaStreamTrack, simulcast = false) {
    if (!this.send) throw ParleyError.invalidState('not in the meeting');
    const producer = await this.send.produce({
      track,
      appData: { source },
      stopTracks: false,
      ...(track.kind === 'audio'
        ? { codecOptions: { opusStereo: true, opusDtx: true, opusFec: true } }
        : {}),
      ...(simulcast ? { encodings: SIMULCAST } : {}),
    });
    this.producers.set(source, producer);
    this.published.set(source, track);
    return producer;
  }

  private async unpublish(source: TrackSource): Promise<void> {
    const producer = this.producers.get(source);
    this.published.delete(source);
    if (!producer) return;
    this.producers.delete(source);
    producer.close();
    await this.request('rtc:closeProducer', { producerId: producer.id }).catch(() => undefined);
  }

  private async pause(source: TrackSource, paused: boolean): Promise<void> {
    const producer = this.producers.get(source);
    if (!producer) return;
    if (paused) producer.pause();
    else producer.resume();
    await this.request(paused ? 'rtc:pauseProducer' : 'rtc:resumeProducer', {
      producerId: producer.id,
    });
  }

  /**
   * Receives `wanted`: every rtc:consume at once, then every consumer in the same tick, which
   * mediasoup-client makes with one renegotiation of the recv transport (the slow step of a
   * loaded page), each resumed as soon as it is made. A producer that cannot be received (it
   * closed meanwhile) is skipped with a warning: the others still are.
   */
  private async consume(wanted: Wanted[]): Promise<void> {
    const recv = this.recv;
    // The records the events of these producers update from now on (or already did).
    const seen = wanted.map((w) => {
      const known = this.inFlight.get(w.producerId);
      if (known) return known;
      const fresh: InFlight = {};
      this.inFlight.set(w.producerId, fresh);
      return fresh;
    });
    try {
      if (!recv || this.closed) return;
      const live = wanted.flatMap((w, i) => (seen[i]!.closed ? [] : [{ w, seen: seen[i]! }]));
      const answers = await Promise.allSettled(
        live.map(({ w }) =>
          this.request<ConsumeAnswer>('rtc:consume', {
            producerId: w.producerId,
            rtpCapabilities: this.device.rtpCapabilities,
          }),
        ),
      );
      const made = await Promise.allSettled(
        answers.flatMap((a, i) =>
          a.status === 'fulfilled' ? [this.receive(recv, live[i]!.w, a.value, live[i]!.seen)] : [],
        ),
      );
      for (const r of [...answers, ...made]) {
        if (r.status === 'rejected') console.warn('parley: cannot receive a track', r.reason);
      }
    } finally {
      wanted.forEach((w, i) => {
        if (this.inFlight.get(w.producerId) === seen[i]) this.inFlight.delete(w.producerId);
      });
    }
  }

  /** Makes, resumes and announces the consumer of one producer (see consume()). */
  private async receive(
    recv: types.Transport,
    w: Wanted,
    params: ConsumeAnswer,
    seen: InFlight,
  ): Promise<void> {
    const consumer = await recv.consume(params);
    try {
      await this.request('rtc:resumeConsumer', { consumerId: consumer.id });
    } catch (err) {
      consumer.close();
      throw err;
    }
    if (seen.closed || this.closed || recv.closed) {
      consumer.close();
      return;
    }
    const source = w.appData.source;
    const remote: RemoteTrack = {
      consumerId: consumer.id,
      producerId: w.producerId,
      peerId: w.peerId,
      kind: consumer.kind,
      source:
        source === 'screen' || source === 'mic' || source === 'camera'
          ? source
          : consumer.kind === 'audio'
            ? 'mic'
            : 'camera',
      track: consumer.track,
      // The latest word: an event after the answer, then the answer, then the announcement.
      paused: seen.paused ?? params.producerPaused ?? w.paused,
    };
    this.consumers.set(consumer.id, { consumer, remote });
    this.peers.get(w.peerId)?.tracks.set(w.producerId, remote);
    this.emit('trackAdded', remote);
  }

  private dropProducer(producerId: string): void {
    for (const [id, { consumer, remote }] of this.consumers) {
      if (remote.producerId !== producerId) continue;
      consumer.close();
      this.consumers.delete(id);
      this.peers.get(remote.peerId)?.tracks.delete(producerId);
      this.emit('trackRemoved', remote);
    }
  }

  private addPeer(p: { peerId: string; userId: string; nickname: string }): MeetingPeer {
    const peer: MeetingPeer = {
      peerId: p.peerId,
      userId: p.userId,
      nickname: p.nickname,
      tracks: new Map(),
    };
    this.peers.set(p.peerId, peer);
    this.emit('peerJoined', peer);
    return peer;
  }

  private onEvent(e: ServerEvent): void {
    if (this.closed || !e.type.startsWith('rtc:')) return;
    const ev = e as RtcEvent;
    if (ev.meetingId !== this.meetingId) return;
    switch (ev.type) {
      case 'rtc:peerJoined':
        this.addPeer(ev);
        return;
      case 'rtc:peerLeft': {
        const peer = this.peers.get(ev.peerId);
        if (!peer) {
          this.joining?.left.add(ev.peerId);
          return;
        }
        for (const producerId of [...peer.tracks.keys()]) this.dropProducer(producerId);
        this.peers.delete(ev.peerId);
        if (this.activeSpeaker === ev.peerId) this.activeSpeaker = null;
        this.emit('peerLeft', peer);
        return;
      }
      case 'rtc:newProducer': {
        const { producerId, peerId, paused, appData } = ev;
        this.inFlight.set(producerId, {});
        // A publisher's microphone and camera come together: one renegotiation for both.
        if (this.fresh.push({ producerId, peerId, paused, appData }) === 1) {
          void this.serial(() => this.consume(this.fresh.splice(0)));
        }
        return;
      }
      case 'rtc:producerClosed': {
        const pending = this.inFlight.get(ev.producerId);
        if (pending) pending.closed = true;
        this.joining?.closed.add(ev.producerId);
        this.dropProducer(ev.producerId);
        return;
      }
      case 'rtc:producerPaused':
      case 'rtc:producerResumed': {
        const pending = this.inFlight.get(ev.producerId);
        if (pending) pending.paused = ev.type === 'rtc:producerPaused';
        const remote = this.peers.get(ev.peerId)?.tracks.get(ev.producerId);
        if (!remote) return;
        remote.paused = ev.type === 'rtc:producerPaused';
        this.emit('trackPaused', remote);
        return;
      }
      case 'rtc:activeSpeaker':
        this.speakerEvents++;
        this.activeSpeaker = ev.peerId;
        this.emit('activeSpeaker', { peerId: ev.peerId });
        return;
      case 'rtc:left':
        this.close('removed');
        return;
      case 'rtc:meetingEnded':
        this.close('ended');
        return;
      case 'rtc:mediaReset':
        void this.rebuild();
        return;
      default:
        return;
    }
  }

  /** The media is gone on the server (new device, SFU restart): join again and republish. */
  private async rebuild(): Promise<void> {
    if (this.closed) return;
    this.teardown();
    this.producers.clear();
    try {
      await this.serial(async () => {
        await this.enter();
        for (const [source, track] of [...this.published]) {
          if (track.readyState === 'live') await this.produce(source, track, source === 'camera');
        }
      });
      this.emit('rejoined');
    } catch (err) {
      console.warn('parley: cannot rejoin the meeting media', err);
    }
  }

  /** Closes transports and forgets the remote side (local tracks stay). */
  private teardown(): void {
    for (const { remote } of this.consumers.values()) this.emit('trackRemoved', remote);
    this.consumers.clear();
    for (const pending of this.inFlight.values()) pending.closed = true;
    for (const peer of this.peers.values()) this.emit('peerLeft', peer);
    this.peers.clear();
    this.activeSpeaker = null;
    this.send?.close();
    this.recv?.close();
    this.send = null;
    this.recv = null;
  }

  private close(reason: MeetingEndReason): void {
    if (this.closed) return;
    this.teardown();
    this.closed = true;
    for (const off of this.unsubscribe) off();
    for (const t of this.local?.getTracks() ?? []) t.stop();
    for (const t of this.screen?.getTracks() ?? []) t.stop();
    this.emit('closed', { reason });
  }
}

async function capture(open: () => Promise<MediaStream>): Promise<MediaStream> {
  if (!navigator.mediaDevices) throw ParleyError.unsupported('media capture');
  try {
    return await open();
  } catch (err) {
    throw ParleyError.mediaFailed(err);
  }
}
