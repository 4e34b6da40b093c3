import type { CallEvent, DeviceRef, IncomingEvent, Media, ServerEvent } from '@parley/protocol';
import { Emitter } from '../emitter.ts';
import { ParleyError } from '../errors.ts';
import type { CallMember } from './call-events.ts';
import { isRejection } from './call-machine.ts';
import { Call, type CallContext } from './call.ts';
import type {
  CallOptions,
  NetCallEvents,
  NetCallType,
  NetCallUser,
  ResponseOptions,
  RtcInfo,
  StartRtcOptions,
  TimeTag,
} from './netcall-events.ts';
import type { InputKind } from './peer-handler.ts';

/** What the call API needs from the client. */
export type NetCallOptions = CallContext;

const typeOf = (m: Media): NetCallType => (m === 'audio' ? 1 : 2);
const mediaOf = (t: NetCallType): Media => (t === 1 ? 'audio' : 'video');
const timetag = (at: number): TimeTag => String(at);

/**
 * The netcall API of specs/netcall-sdk.md on Parley: `call`, `response`, `startRtc`, `hangup`
 * and the spec's events, as a façade over {@link Call} objects (each owns one call's state,
 * media and timers). One current call at a time; other calls that ring meanwhile are Calls too
 * and still raise `beCalling`.
 */
export class NetCall extends Emitter<NetCallEvents> {
  private current: Call | null = null;
  /** Calls ringing this device, by call id. */
  private readonly ringing = new Map<string, Call>();
  /** Calls this device placed or answered: their end is `callEnded` (a ring's is `hangup`). */
  private readonly answered = new WeakSet<Call>();
  private muted = false;
  private cameraOn = true;

  constructor(private readonly o: NetCallOptions) {
    super();
    o.signaling.on('event', (e) => this.onEvent(e));
    o.signaling.on('sessionLost', () => this.onSessionLost());
    // Disconnected for good (disconnect(), or reconnection gave up): the calls are over here.
    o.signaling.on('state', (state) => {
      if (state === 'disconnected') this.onSessionLost();
    });
    o.signaling.on('resumed', () => this.current?.resumed());
  }

  /** The current call's id, if there is one. */
  get cid(): string | null {
    return this.current?.cid || null;
  }

  /** The current call (placed or answered), for the {@link Call} API and its events. */
  get currentCall(): Call | null {
    return this.current;
  }

  /** A call ringing this device (`beCalling`'s `cid`), until it is answered or stops. */
  incomingCall(cid: string): Call | undefined {
    return this.ringing.get(cid);
  }

  /** Whether the microphone is muted (applies to the next call too). */
  get isMuted(): boolean {
    return this.muted;
  }

  /** Whether the camera is on. */
  get isCameraOn(): boolean {
    return this.cameraOn;
  }

  /**
   * Calls `callee`; resolves once the call is placed (the callee's devices ring). Listen for
   * `callAccepted` / `callRejected` / `hangup`. With `preconnect` the camera and the connection
   * are readied while it rings, so media flows right after the answer.
   */
  async call(options: CallOptions): Promise<{ cid: string }> {
    if (this.current) throw ParleyError.invalidState('already in a call: hang up first');
    const type = options.type;
    if (type !== 1 && type !== 2)
      throw ParleyError.badRequest('type must be 1 (audio) or 2 (video)');
    const { account, callee: named } = options;
    if (account !== undefined && named !== undefined && account !== named) {
      throw ParleyError.badRequest('account and callee name different users: give one');
    }
    const callee = account ?? named;
    if (typeof callee !== 'string' || callee === '') {
      throw ParleyError.badRequest('account (the user to call) is required');
    }
    const call = Call.outgoing(this.o, callee, mediaOf(type));
    this.wire(call);
    this.adopt(call);
    const cid = await call.place({
      keepCalling: options.forceKeepCalling ?? false,
      glareWith: (id) => this.takeRinging(id),
    });
    return { cid };
  }

  /** Answers a call that rang here (`beCalling`): accept or reject. */
  async response(options: ResponseOptions): Promise<void> {
    const call = this.ringing.get(options.cid);
    if (!call || call.ended) throw new ParleyError('not_found', `no ringing call ${options.cid}`);
    if (!options.accepted) return call.reject();
    if (this.current) throw ParleyError.invalidState('already in a call: hang up first');
    this.ringing.delete(options.cid);
    this.adopt(call);
    await call.accept();
  }

  /**
   * Starts the call's media once it is answered (both sides call it: the caller on
   * `callAccepted`, the callee after `response`), as `startRtc({ mode: 0 })` in the spec.
   * Resolves with `{ uid, account, cid }` once the local media is up, after `syncDone`;
   * `clientJoin` follows when the other party's media arrives.
   */
  async startRtc(options: StartRtcOptions = {}): Promise<RtcInfo> {
    const call = this.current;
    if (!call || call.phase !== 'accepted') throw ParleyError.invalidState('no answered call');
    const { mode = 0, ...constraints } = options;
    const type = typeOf(call.media);
    if (mode !== 0 && mode !== type) {
      throw ParleyError.badRequest(`mode must be 0 or the call's type (${type})`);
    }
    const self = await call.startRtc(constraints);
    return { uid: self.uid, account: self.account, cid: call.cid };
  }

  /**
   * Ends the current call: cancels it while it rings, hangs up once answered. Resolves once the
   * server has it; the other side gets `hangup`. Without a call it resolves and does nothing:
   * the call may have ended meanwhile, and the spec's own call timer hangs up without looking.
   */
  async hangup(): Promise<void> {
    await this.current?.hangup();
  }

  /** Mutes or unmutes the microphone. */
  setMuted(muted: boolean): void {
    this.muted = muted;
    this.current?.setMuted(muted);
  }

  /** Turns the camera off (releasing it) or on again. */
  async setCamera(on: boolean): Promise<void> {
    this.cameraOn = on;
    await this.current?.setCamera(on);
  }

  /** Moves the current call to another microphone or camera. */
  async switchDevice(kind: InputKind, deviceId: string): Promise<void> {
    if (!this.current) throw ParleyError.invalidState('no call media to switch');
    await this.current.switchDevice(kind, deviceId);
  }

  /** The current call's WebRTC statistics. */
  getStats(): Promise<RTCStatsReport> {
    if (!this.current) return Promise.reject(ParleyError.invalidState('no call media'));
    return this.current.getStats();
  }

  /** The network changed: the current call restarts ICE on the new path. */
  networkChanged(): void {
    this.current?.networkChanged();
  }

  /** Makes `call` the current one, with this device's microphone and camera choice. */
  private adopt(call: Call): void {
    this.current = call;
    this.answered.add(call);
    call.setMuted(this.muted);
    // No media is open yet: this only records the choice.
    void call.setCamera(this.cameraOn);
  }

  /** glare: our invite answered the ringing call `cid`; it is ours now, its ring is gone. */
  private takeRinging(cid: string): DeviceRef | null {
    const call = this.ringing.get(cid);
    this.ringing.delete(cid);
    return call?.remote ?? null;
  }

  private onEvent(e: ServerEvent): void {
    if (e.type === 'call:record') {
      this.emit('callRecord', e.record);
      return;
    }
    if (!e.type.startsWith('call:')) return;
    const ev = e as Exclude<CallEvent, { type: 'call:record' }>;
    if (this.current?.claims(ev)) this.current.handle(ev);
    else if (ev.type === 'call:incoming') this.ring(ev);
    else this.ringing.get(ev.callId)?.handle(ev);
  }

  private ring(e: IncomingEvent): void {
    const call = Call.incoming(this.o, e);
    this.ringing.set(e.callId, call);
    this.wire(call);
    this.emit('beCalling', {
      caller: e.caller,
      callerName: e.callerName,
      type: typeOf(e.media),
      cid: e.callId,
      fromClientType: e.callerDevice.clientType,
      timetag: timetag(Date.now()),
    });
  }

  /** The device is gone (a new one came back, or none will): every call of it is over. */
  private onSessionLost(): void {
    for (const call of [...this.ringing.values()]) call.lost();
    this.current?.lost();
  }

  /** Raises the spec's events for what `call` does. */
  private wire(call: Call): void {
    const type = typeOf(call.media);
    const member = (m: CallMember): NetCallUser => ({
      account: m.account,
      uid: m.uid,
      mode: type,
      url: `parley:${call.cid}/${m.uid}`,
    });
    call.on('ringing', ({ devices }) => this.emit('ringing', { cid: call.cid, devices }));
    call.on('accepted', (a) => {
      this.emit('callAccepted', {
        account: call.peer,
        type,
        cid: call.cid,
        fromClientType: a.fromClientType,
        timetag: timetag(a.at),
      });
    });
    call.on('answeredElsewhere', (a) => {
      this.emit('callerAckSync', {
        timetag: timetag(a.at),
        cid: call.cid,
        type,
        accepted: a.accepted,
        fromClientType: a.fromClientType,
      });
    });
    call.on('joined', ({ self, remote }) => {
      const user = (m: CallMember) => ({ ...member(m), pusher_secret: '', scene: 0 });
      this.emit('syncDone', {
        code: 200,
        errmsg: '',
        userlist: remote ? [user(self), user(remote)] : [user(self)],
      });
    });
    call.on('remoteStream', ({ member: m, stream }) => {
      this.emit('clientJoin', { ...member(m), cid: call.cid, stream });
    });
    call.on('localStream', (s) => this.emit('localStream', s));
    call.on('mediaState', (s) => this.emit('mediaState', s));
    call.on('quality', (q) => this.emit('quality', q));
    // The spec's event first, then the media goes (clientLeave, callEnded).
    call.on('hangup', ({ reason, at }) => {
      const base = { timetag: timetag(at), cid: call.cid, account: call.peer };
      if (isRejection(call.role, reason)) this.emit('callRejected', { ...base, type, reason });
      else this.emit('hangup', { ...base, reason });
    });
    call.on('remoteLeft', (m) => {
      this.release(call);
      const { account, uid, url } = member(m);
      this.emit('clientLeave', { account, uid, id: uid, cid: call.cid, url });
    });
    call.on('ended', ({ reason, by }) => {
      this.release(call);
      if (this.answered.has(call) && reason !== 'answered_elsewhere') {
        this.emit('callEnded', { cid: call.cid, reason, by });
      }
    });
  }

  /** `call` is over: it is no longer current or ringing. */
  private release(call: Call): void {
    if (this.current === call) this.current = null;
    if (this.ringing.get(call.cid) === call) this.ringing.delete(call.cid);
  }
}
