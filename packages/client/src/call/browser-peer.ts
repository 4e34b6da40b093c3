import { Emitter } from '../emitter.ts';
import { ParleyError } from '../errors.ts';
import type {
  InputKind,
  MediaConnectionState,
  PeerHandler,
  PeerHandlerEvents,
  PeerSignal,
  PeerStartOptions,
} from './peer-handler.ts';

/** A connection `disconnected` this long gets an ICE restart (it may recover on its own). */
const DISCONNECTED_RESTART_MS = 2_000;

/**
 * A call's media on RTCPeerConnection: getUserMedia by call type, trickle ICE, and "perfect
 * negotiation" (the callee is polite), so renegotiations and ICE restarts from either side never
 * deadlock. A failed connection, or one disconnected for 2 s, restarts ICE by itself.
 */
export class BrowserPeerHandler extends Emitter<PeerHandlerEvents> implements PeerHandler {
  private pc: RTCPeerConnection | null = null;
  private local: MediaStream | null = null;
  private remote: MediaStream | null = null;
  private options: PeerStartOptions | null = null;
  private polite = false;
  private makingOffer = false;
  private ignoreOffer = false;
  private offered = false;
  private audioOn = true;
  /** Candidates that came before the remote description they belong to. */
  private earlyIce: Array<RTCIceCandidateInit | null> = [];
  /** Signals are applied one at a time, in arrival order. */
  private chain: Promise<void> = Promise.resolve();
  private disconnectedTimer: ReturnType<typeof setTimeout> | null = null;
  private restarting = false;
  private closed = false;

  /**
   * Creates the connection at once (negotiation may start right away: call() and receive() work
   * before this resolves), then opens the camera and microphone and puts them on the connection.
   * Resolves with the local stream once they are open.
   */
  async start(options: PeerStartOptions): Promise<MediaStream> {
    if (typeof RTCPeerConnection === 'undefined') throw ParleyError.unsupported('WebRTC');
    this.options = options;
    this.polite = options.polite;
    const pc = new RTCPeerConnection({
      iceServers: options.iceServers,
      iceTransportPolicy: options.iceTransportPolicy ?? 'all',
    });
    this.pc = pc;
    this.local = new MediaStream();
    pc.onicecandidate = (e) =>
      this.emit('signal', { kind: 'ice', candidate: e.candidate?.toJSON() ?? null });
    pc.ontrack = (e) => {
      const stream = e.streams[0] ?? this.remote ?? new MediaStream();
      if (!e.streams[0]) stream.addTrack(e.track);
      if (stream !== this.remote) {
        this.remote = stream;
        this.emit('remoteStream', stream);
      }
    };
    pc.onnegotiationneeded = () => void this.negotiate();
    pc.onconnectionstatechange = () => this.onConnectionState();
    const captured = await this.capture({
      audio: options.audio ?? true,
      video: options.media === 'video' ? (options.video ?? true) : false,
    });
    if (this.closed) {
      for (const t of captured.getTracks()) t.stop();
      throw ParleyError.closed();
    }
    for (const t of captured.getTracks()) {
      if (t.kind === 'audio') t.enabled = this.audioOn;
      this.local.addTrack(t);
    }
    await this.attach();
    this.emit('localStream', this.local);
    return this.local;
  }

  call(): void {
    const pc = this.pc;
    if (this.offered || !pc || !this.local) return;
    this.offered = true;
    // One transceiver per kind, sending whatever the devices give once they are open: the
    // offer need not wait for the camera.
    for (const kind of this.kinds()) {
      pc.addTransceiver(kind, { direction: 'sendrecv', streams: [this.local] });
    }
    void this.attach();
  }

  receive(signal: PeerSignal): Promise<void> {
    const run = this.chain.then(() => this.apply(signal));
    // The chain goes on after a failed signal; the caller still sees the failure.
    this.chain = run.catch(() => undefined);
    return run;
  }

  restartIce(): void {
    if (!this.pc || this.closed) return;
    this.restarting = true;
    this.emit('state', 'reconnecting');
    this.pc.restartIce();
  }

  setAudioEnabled(on: boolean): void {
    this.audioOn = on;
    for (const t of this.local?.getAudioTracks() ?? []) t.enabled = on;
  }

  async setVideoEnabled(on: boolean): Promise<void> {
    if (!this.local || !this.pc || this.options?.media !== 'video') {
      throw ParleyError.invalidState('this call has no camera');
    }
    const sender = this.sender('video');
    if (!on) {
      for (const t of this.local.getVideoTracks()) {
        t.stop();
        this.local.removeTrack(t);
      }
      await sender?.replaceTrack(null);
    } else if (this.local.getVideoTracks().length === 0) {
      const stream = await this.capture({ video: this.options.video ?? true });
      const track = stream.getVideoTracks()[0]!;
      this.local.addTrack(track);
      await sender?.replaceTrack(track);
    }
    this.emit('localStream', this.local);
  }

  async switchDevice(kind: InputKind, deviceId: string): Promise<void> {
    if (!this.local) throw ParleyError.invalidState('the call has no media yet');
    const audio = kind === 'audioinput';
    const base = audio ? this.options?.audio : this.options?.video;
    const constraints = {
      ...(typeof base === 'object' ? base : {}),
      deviceId: { exact: deviceId },
    };
    const stream = await this.capture(audio ? { audio: constraints } : { video: constraints });
    const track = (audio ? stream.getAudioTracks() : stream.getVideoTracks())[0]!;
    const old = audio ? this.local.getAudioTracks() : this.local.getVideoTracks();
    if (audio) track.enabled = old[0]?.enabled ?? true;
    await this.sender(track.kind)?.replaceTrack(track);
    for (const t of old) {
      t.stop();
      this.local.removeTrack(t);
    }
    this.local.addTrack(track);
    this.emit('localStream', this.local);
  }

  getStats(): Promise<RTCStatsReport> {
    if (!this.pc) return Promise.reject(ParleyError.invalidState('the call has no media yet'));
    return this.pc.getStats();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.disconnectedTimer) clearTimeout(this.disconnectedTimer);
    for (const t of this.local?.getTracks() ?? []) t.stop();
    if (this.pc) {
      this.pc.onicecandidate = null;
      this.pc.ontrack = null;
      this.pc.onnegotiationneeded = null;
      this.pc.onconnectionstatechange = null;
      this.pc.close();
    }
    this.emit('state', 'closed');
  }

  private async capture(constraints: MediaStreamConstraints): Promise<MediaStream> {
    if (!navigator.mediaDevices?.getUserMedia) throw ParleyError.unsupported('getUserMedia');
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch (err) {
      throw ParleyError.mediaFailed(err);
    }
  }

  /** The kinds this side sends: audio, and video in a video call. */
  private kinds(): Array<'audio' | 'video'> {
    return this.options?.media === 'video' ? ['audio', 'video'] : ['audio'];
  }

  /** Puts each open device on the transceiver of its kind that has no track yet. */
  private async attach(): Promise<void> {
    const pc = this.pc;
    if (!pc || !this.local || this.closed) return;
    for (const track of this.local.getTracks()) {
      const transceivers = pc.getTransceivers().filter((t) => t.receiver.track.kind === track.kind);
      if (transceivers.some((t) => t.sender.track === track)) continue;
      const free = transceivers.find((t) => t.sender.track === null && t.direction !== 'stopped');
      await free?.sender.replaceTrack(track);
    }
  }

  /** The answering side sends on the transceivers the offer created (before its devices open). */
  private answerWith(pc: RTCPeerConnection): void {
    const kinds = new Set<string>(this.kinds());
    for (const t of pc.getTransceivers()) {
      if (t.currentDirection !== null || !kinds.has(t.receiver.track.kind)) continue;
      kinds.delete(t.receiver.track.kind);
      t.direction = 'sendrecv';
      t.sender.setStreams?.(this.local!);
    }
  }

  private sender(kind: string): RTCRtpSender | undefined {
    return this.pc
      ?.getTransceivers()
      .find((t) => t.receiver.track.kind === kind && t.direction !== 'inactive')?.sender;
  }

  private async negotiate(): Promise<void> {
    const pc = this.pc;
    if (!pc || this.closed) return;
    try {
      this.makingOffer = true;
      await pc.setLocalDescription();
      if (pc.localDescription) this.emit('signal', { kind: 'offer', sdp: pc.localDescription.sdp });
    } finally {
      this.makingOffer = false;
    }
  }

  private async apply(signal: PeerSignal): Promise<void> {
    const pc = this.pc;
    if (this.closed) return;
    if (!pc) throw ParleyError.invalidState('a signal came before start()');
    if (signal.kind === 'ice') {
      if (!pc.remoteDescription) {
        this.earlyIce.push(signal.candidate);
        return;
      }
      await this.addIce(signal.candidate);
      return;
    }
    const collision =
      signal.kind === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    await pc.setRemoteDescription({ type: signal.kind, sdp: signal.sdp });
    if (signal.kind === 'offer') {
      this.answerWith(pc);
      await this.attach();
      await pc.setLocalDescription();
      if (pc.localDescription)
        this.emit('signal', { kind: 'answer', sdp: pc.localDescription.sdp });
    }
    const early = this.earlyIce;
    this.earlyIce = [];
    for (const c of early) await this.addIce(c);
  }

  private async addIce(candidate: RTCIceCandidateInit | null): Promise<void> {
    try {
      await this.pc!.addIceCandidate(candidate ?? undefined);
    } catch (err) {
      // Candidates of an offer this side ignored (a collision it won) do not apply.
      if (!this.ignoreOffer) throw err;
    }
  }

  private onConnectionState(): void {
    const pc = this.pc;
    if (!pc || this.closed) return;
    if (this.disconnectedTimer) clearTimeout(this.disconnectedTimer);
    this.disconnectedTimer = null;
    let state: MediaConnectionState;
    switch (pc.connectionState) {
      case 'connected':
        this.restarting = false;
        state = 'connected';
        break;
      case 'disconnected':
        state = 'reconnecting';
        this.disconnectedTimer = setTimeout(() => this.restartIce(), DISCONNECTED_RESTART_MS);
        break;
      case 'failed':
        // One restart per failure; if the restart fails too, the call is failed.
        if (!this.restarting) {
          this.restartIce();
          return;
        }
        state = 'failed';
        break;
      case 'closed':
        state = 'closed';
        break;
      case 'new':
        state = 'new';
        break;
      default:
        state = this.restarting ? 'reconnecting' : 'connecting';
    }
    this.emit('state', state);
  }
}
