import { Emitter } from '../src/emitter.ts';
import type {
  InputKind,
  PeerHandler,
  PeerHandlerEvents,
  PeerSignal,
  PeerStartOptions,
} from '../src/call/peer-handler.ts';

/**
 * A fake of the call's WebRTC side (mediasoup-client's FakeHandler pattern): it "negotiates" by
 * emitting the signals a browser would, so the whole call API runs in Node. `call()` offers
 * (with two candidates), an offer gets an answer, and the answer — or, on the answering side,
 * the first candidate after the offer — connects and brings the remote stream.
 */
export class FakePeerHandler extends Emitter<PeerHandlerEvents> implements PeerHandler {
  /** Every handler made, in order (the test's window into them). */
  static readonly made: FakePeerHandler[] = [];
  options: PeerStartOptions | null = null;
  readonly received: PeerSignal[] = [];
  audio = true;
  video = true;
  restarts = 0;
  closed = false;
  switched: Array<{ kind: InputKind; deviceId: string }> = [];
  /** Resolves start(); tests may hold it to model a slow camera. */
  gate: Promise<void> = Promise.resolve();
  readonly stream = { id: 'local' } as MediaStream;
  readonly remote = { id: 'remote' } as MediaStream;
  private connected = false;

  constructor() {
    super();
    FakePeerHandler.made.push(this);
  }

  /** The most recent handler. */
  static get last(): FakePeerHandler {
    return FakePeerHandler.made[FakePeerHandler.made.length - 1]!;
  }

  async start(options: PeerStartOptions): Promise<MediaStream> {
    this.options = options;
    await this.gate;
    this.emit('localStream', this.stream);
    this.emit('state', 'connecting');
    return this.stream;
  }

  call(): void {
    this.emit('signal', { kind: 'offer', sdp: 'v=0 fake-offer' });
    this.emit('signal', { kind: 'ice', candidate: { candidate: 'candidate:1', sdpMid: '0' } });
    this.emit('signal', { kind: 'ice', candidate: null });
  }

  receive(signal: PeerSignal): Promise<void> {
    if (!this.options) return Promise.reject(new Error('signal before start()'));
    this.received.push(signal);
    if (signal.kind === 'offer') this.emit('signal', { kind: 'answer', sdp: 'v=0 fake-answer' });
    if (signal.kind === 'answer' || (signal.kind === 'ice' && this.received[0]?.kind === 'offer')) {
      this.connect();
    }
    return Promise.resolve();
  }

  /** The media path suffers (ICE disconnected): the state a restart should follow. */
  degrade(): void {
    this.emit('state', 'reconnecting');
  }

  /** ICE/DTLS failed for good (the browser handler's restart did not help either). */
  fail(): void {
    this.emit('state', 'failed');
  }

  /** The media comes back (an ICE restart worked). */
  recover(): void {
    this.emit('state', 'connected');
  }

  restartIce(): void {
    this.restarts++;
    this.emit('state', 'reconnecting');
  }

  setAudioEnabled(on: boolean): void {
    this.audio = on;
  }

  setVideoEnabled(on: boolean): Promise<void> {
    this.video = on;
    return Promise.resolve();
  }

  switchDevice(kind: InputKind, deviceId: string): Promise<void> {
    this.switched.push({ kind, deviceId });
    return Promise.resolve();
  }

  getStats(): Promise<RTCStatsReport> {
    return Promise.resolve(new Map() as unknown as RTCStatsReport);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('state', 'closed');
  }

  private connect(): void {
    if (this.connected) return;
    this.connected = true;
    this.emit('remoteStream', this.remote);
    this.emit('state', 'connected');
  }
}
