import type { CallEvent, DeviceRef, IceServer, IncomingEvent, Media } from '@parley/protocol';
import { Emitter } from '../emitter.ts';
import { ParleyError } from '../errors.ts';
import type { Signaling } from '../signaling.ts';
import type { CallEvents, CallMember } from './call-events.ts';
import { realClock, type CallClock, type TimerHandle } from './clock.ts';
import {
  incomingCall,
  outgoingCall,
  transition,
  type CallEffect,
  type CallInput,
  type CallPhase,
  type CallRole,
  type CallState,
} from './call-machine.ts';
import type {
  InputKind,
  MediaConnectionState,
  MediaConstraints,
  PeerHandler,
  PeerHandlerFactory,
} from './peer-handler.ts';
import { measureQuality, type QualitySample } from './quality.ts';

/** What a call needs from the client. */
export interface CallContext {
  signaling: Signaling;
  /** This user's id. */
  userId: () => string;
  peerHandler: PeerHandlerFactory;
  iceServers: () => Promise<IceServer[]>;
  /** Open the camera and build the connection while the callee's devices ring. Default true. */
  preconnect?: boolean;
  /** Camera and microphone constraints for every call. */
  constraints?: MediaConstraints;
  /** Quality reading interval; default 2 s. */
  qualityIntervalMs?: number;
  /** How long the media may take to connect after startRtc; default 30 s (`mediaTimeoutMs`). */
  mediaTimeoutMs?: number;
  /** `relay`: media only through TURN (the ICE servers'); default `all`. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** The time and timers the call runs on; default the wall clock and real timers. */
  clock?: CallClock;
}

/**
 * The media of an answered call that has not connected this long after startRtc has failed.
 * The browser may never say so itself: with no usable candidate pair at all (no TURN for a
 * relay-only policy, every address filtered) ICE stays `new` or `checking` forever.
 */
const MEDIA_TIMEOUT_MS = 30_000;
/** Codes of a hangup the server refuses because the call is over there already. */
const ALREADY_OVER: ReadonlySet<string> = new Set(['not_found', 'invalid_state', 'not_in_call']);

/**
 * One 1:1 call on this device: its state (a pure machine, call-machine.ts), its media (the
 * RTCPeerConnection through a PeerHandler) and its timers, with typed events ({@link
 * CallEvents}). `client.netcall` makes them (`currentCall`, `incomingCall(cid)`) and routes the
 * server's events to them; the netcall API is a façade over them.
 */
export class Call extends Emitter<CallEvents> {
  private state: CallState;
  private handler: PeerHandler | null = null;
  /** Resolves once the connection exists and can negotiate (the caller's opens while ringing). */
  private opening: Promise<PeerHandler> | null = null;
  /** Resolves once the camera and microphone are open. */
  private devices: Promise<void> | null = null;
  /** Resolves with the call id once our invite was acknowledged. */
  private invited: Promise<string> | null = null;
  private mediaTimer: TimerHandle | null = null;
  private qualityTimer: TimerHandle | null = null;
  private readonly clock: CallClock;
  private muted = false;
  private cameraOn = true;

  private constructor(
    private readonly ctx: CallContext,
    state: CallState,
  ) {
    super();
    this.state = state;
    this.clock = ctx.clock ?? realClock;
  }

  /** A call to `callee`, to be placed with {@link Call.place}. */
  static outgoing(ctx: CallContext, callee: string, media: Media): Call {
    return new Call(ctx, outgoingCall(callee, media));
  }

  /** The call an `call:incoming` event rings this device with. */
  static incoming(ctx: CallContext, event: IncomingEvent): Call {
    return new Call(ctx, incomingCall(event));
  }

  /** The call id ('' until our invite is acknowledged). */
  get cid(): string {
    return this.state.cid;
  }

  /** What the call carries: audio, or audio and video. */
  get media(): Media {
    return this.state.media;
  }

  /** Whether this device placed the call or answers it. */
  get role(): CallRole {
    return this.state.role;
  }

  /** The other party (a user id). */
  get peer(): string {
    return this.state.peer;
  }

  /** Where the call is: inviting, ringing, incoming, accepted or ended. */
  get phase(): CallPhase {
    return this.state.phase;
  }

  /** The other party's device, once known. */
  get remote(): DeviceRef | null {
    return this.state.remote;
  }

  /** The media connection's state. */
  get mediaState(): MediaConnectionState {
    return this.state.mediaState;
  }

  /** Whether the call is over here. */
  get ended(): boolean {
    return this.state.phase === 'ended';
  }

  /** Whether a server event is this call's (an event of our invite may precede its id). */
  claims(e: CallEvent): boolean {
    if (e.type === 'call:record') return false;
    const s = this.state;
    if (s.phase === 'inviting') return e.caller === this.ctx.userId() && e.callee === s.peer;
    return s.cid !== '' && e.callId === s.cid;
  }

  /** Feeds a server event of this call (see {@link Call.claims}). */
  handle(e: CallEvent): void {
    this.dispatch({ type: 'server', event: e });
  }

  /**
   * Places the call; resolves with its id once the callee's devices ring. With `preconnect`
   * the camera and the connection are readied meanwhile. `glareWith` gives the device of a
   * call ringing here with that id, which our invite may have answered instead.
   */
  async place(options: {
    keepCalling: boolean;
    glareWith?: (cid: string) => DeviceRef | null;
  }): Promise<string> {
    if (this.state.phase !== 'inviting' || this.invited) {
      throw ParleyError.invalidState('the call was placed already');
    }
    if (this.ctx.preconnect ?? true) this.open().catch(() => undefined);
    this.invited = this.ctx.signaling
      .request<{ callId: string; glare?: true }>('call:invite', {
        callee: this.state.peer,
        media: this.state.media,
        keepCalling: options.keepCalling,
      })
      .then((r) => {
        const glare = r.glare ? { by: options.glareWith?.(r.callId) ?? null } : null;
        this.dispatch({ type: 'invited', cid: r.callId, glare });
        return r.callId;
      });
    let cid: string;
    try {
      cid = await this.invited;
    } catch (err) {
      this.dispatch({ type: 'fail' });
      throw err;
    }
    try {
      await this.opening;
      await this.devices;
    } catch (err) {
      // The camera failed while the call rings: the call cannot go on.
      if (this.ended) return cid;
      this.dispatch({ type: 'fail' });
      this.ctx.signaling.request('call:hangup', { callId: cid }).catch(() => undefined);
      throw err;
    }
    return cid;
  }

  /** Answers the call ringing here; resolves once the server has it. */
  async accept(): Promise<void> {
    if (this.state.phase !== 'incoming') throw ParleyError.invalidState('the call is not ringing');
    this.dispatch({ type: 'accept' });
    try {
      await this.ctx.signaling.request('call:accept', { callId: this.state.cid });
    } catch (err) {
      this.dispatch({ type: 'fail' });
      throw err;
    }
  }

  /** Declines the call ringing here. */
  async reject(): Promise<void> {
    if (this.state.phase !== 'incoming') throw ParleyError.invalidState('the call is not ringing');
    this.dispatch({ type: 'hangup', by: this.ctx.userId() });
    await this.ctx.signaling.request('call:reject', { callId: this.state.cid });
  }

  /**
   * Starts this device's media in the answered call (once; later calls wait for the same).
   * Resolves with this device as a member once the local media is up, after `joined`.
   */
  async startRtc(constraints: MediaConstraints = {}): Promise<CallMember> {
    if (this.state.phase !== 'accepted') throw ParleyError.invalidState('no answered call');
    if (this.state.rtc === 'off') {
      this.dispatch({ type: 'rtc_starting' });
      await this.open(constraints);
      if (this.ended) throw ParleyError.invalidState('the call ended');
      this.dispatch({ type: 'rtc_live', self: this.self() });
    }
    await this.opening;
    await this.devices;
    return this.self();
  }

  /**
   * Ends the call: cancels it while it rings, rejects it while it rings here, hangs up once
   * answered. Resolves once the server has it; nothing if the call is over already.
   */
  async hangup(): Promise<void> {
    if (this.ended) return;
    if (this.state.phase === 'incoming') return this.reject();
    this.dispatch({ type: 'hangup', by: this.ctx.userId() });
    const cid = this.state.cid || (await this.invited?.catch(() => null));
    if (!cid) return;
    try {
      await this.ctx.signaling.request('call:hangup', { callId: cid });
    } catch (err) {
      // The call may have ended meanwhile on the server: it is over either way.
      if (!ALREADY_OVER.has((err as ParleyError).code)) throw err;
    }
  }

  /** This device's session is gone (a new one came back, or none will): the call is over. */
  lost(): void {
    this.dispatch({ type: 'lost' });
  }

  /** The signaling connection resumed: media that suffered restarts ICE. */
  resumed(): void {
    this.dispatch({ type: 'resumed' });
  }

  /** The network changed: the media restarts ICE on the new path. */
  networkChanged(): void {
    this.dispatch({ type: 'network_changed' });
  }

  /** Mutes or unmutes the microphone (before the media opens too). */
  setMuted(muted: boolean): void {
    this.muted = muted;
    this.handler?.setAudioEnabled(!muted);
  }

  /** Turns the camera off (releasing it) or on again (before the media opens too). */
  async setCamera(on: boolean): Promise<void> {
    this.cameraOn = on;
    await this.handler?.setVideoEnabled(on);
  }

  /** Moves the media to another microphone or camera. */
  async switchDevice(kind: InputKind, deviceId: string): Promise<void> {
    if (!this.handler) throw ParleyError.invalidState('no call media to switch');
    await this.handler.switchDevice(kind, deviceId);
  }

  /** The media's WebRTC statistics. */
  getStats(): Promise<RTCStatsReport> {
    if (!this.handler) return Promise.reject(ParleyError.invalidState('no call media'));
    return this.handler.getStats();
  }

  private self(): CallMember {
    return { account: this.ctx.userId(), uid: this.ctx.signaling.deviceId ?? '' };
  }

  private dispatch(input: CallInput): void {
    const t = transition(this.state, input, this.clock.now());
    this.state = t.state;
    for (const effect of t.effects) this.run(effect);
  }

  private run(e: CallEffect): void {
    switch (e.kind) {
      case 'emit':
        // `name` and `data` come as a pair from CallEmit; TypeScript cannot correlate them.
        (this.emit as (name: keyof CallEvents, data: unknown) => void)(e.name, e.data);
        return;
      case 'send': {
        const { cid } = this.state;
        const s = e.signal;
        const data =
          s.kind === 'ice' ? { callId: cid, candidate: s.candidate } : { callId: cid, sdp: s.sdp };
        try {
          this.ctx.signaling.send(`call:${s.kind}`, data);
        } catch {
          // Not connected for good: the call ends through the session's loss or the server.
        }
        return;
      }
      case 'apply':
        this.handler?.receive(e.signal).catch((err: unknown) => {
          console.warn('parley: a call signal could not be applied', err);
        });
        return;
      case 'report': {
        const callId = this.state.cid;
        const data =
          e.state === 'connected'
            ? { callId, state: e.state, at: e.at }
            : { callId, state: e.state, reason: e.reason };
        // Only a report: a call that ended meanwhile answers with an error nobody waits for.
        this.ctx.signaling.request('call:media', data).catch(() => undefined);
        return;
      }
      case 'media_timer':
        if (e.on) this.armMediaTimer();
        else if (this.mediaTimer !== null) {
          this.clock.clearTimeout(this.mediaTimer);
          this.mediaTimer = null;
        }
        return;
      case 'quality':
        if (e.on) this.startQuality();
        else if (this.qualityTimer !== null) {
          this.clock.clearInterval(this.qualityTimer);
          this.qualityTimer = null;
        }
        return;
      case 'restart_ice':
        this.handler?.restartIce();
        return;
      case 'drop_media': {
        const readied = this.handler;
        this.handler = null;
        readied?.close();
        this.opening?.catch(() => undefined);
        this.opening = null;
        this.devices = null;
        return;
      }
      case 'close_media':
        this.handler?.close();
        return;
    }
  }

  /**
   * Creates the call's connection (once): negotiation starts at once, and the camera and
   * microphone join it when they are open (`devices`), so opening them never delays the
   * connection. What the connection does goes through the machine (signals wait there until
   * the call is answered).
   */
  private open(constraints?: MediaConstraints): Promise<PeerHandler> {
    this.opening ??= (async () => {
      const handler = this.ctx.peerHandler();
      this.handler = handler;
      const mine = () => !this.ended && this.handler === handler;
      handler.on('signal', (signal) => {
        if (mine()) this.dispatch({ type: 'local_signal', signal });
      });
      handler.on('localStream', (s) => this.emit('localStream', s));
      handler.on('remoteStream', (stream) => {
        if (mine()) this.dispatch({ type: 'remote_stream', stream });
      });
      handler.on('state', (state) => {
        if (mine()) this.dispatch({ type: 'media_state', state });
      });
      const iceServers = await this.ctx.iceServers();
      if (!mine()) {
        handler.close();
        throw ParleyError.invalidState('the call ended');
      }
      const { iceTransportPolicy } = this.ctx;
      const opened = handler.start({
        media: this.state.media,
        polite: this.state.role === 'callee',
        iceServers,
        ...(iceTransportPolicy ? { iceTransportPolicy } : {}),
        ...this.ctx.constraints,
        ...constraints,
      });
      handler.setAudioEnabled(!this.muted);
      this.devices = opened.then(async () => {
        if (!this.cameraOn && this.state.media === 'video' && !this.ended) {
          await handler.setVideoEnabled(false);
        }
      });
      // Observed by place() and startRtc(); a failure must not go unhandled meanwhile.
      this.devices.catch(() => undefined);
      if (this.state.role === 'caller') handler.call();
      return handler;
    })();
    return this.opening;
  }

  /**
   * Gives the media `mediaTimeoutMs` to connect: past it the media has failed (`mediaState`
   * `failed`, reported as `ice_timeout`). The call stays up, as after `ice_failed`: the app
   * decides whether to hang up, and media that connects later still counts.
   */
  private armMediaTimer(): void {
    // Ended already: a listener of an earlier effect of the same transition hung up.
    if (this.mediaTimer !== null || this.ended) return;
    this.mediaTimer = this.clock.setTimeout(() => {
      this.mediaTimer = null;
      this.dispatch({ type: 'media_timeout' });
    }, this.ctx.mediaTimeoutMs ?? MEDIA_TIMEOUT_MS);
  }

  private startQuality(): void {
    const handler = this.handler;
    if (this.qualityTimer !== null || !handler || this.ended) return;
    let previous: QualitySample | null = null;
    this.qualityTimer = this.clock.setInterval(() => {
      handler
        .getStats()
        .then((report) => {
          if (this.ended) return;
          const { quality, sample } = measureQuality(report, previous, this.clock.now());
          if (previous) this.emit('quality', quality);
          previous = sample;
        })
        .catch(() => undefined);
    }, this.ctx.qualityIntervalMs ?? 2_000);
  }
}
