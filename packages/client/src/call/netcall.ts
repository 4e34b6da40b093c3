import type {
  CallEvent,
  CallRecord,
  DeviceRef,
  EndReason,
  IceServer,
  Media,
  ServerEvent,
} from '@parley/protocol';
import { Emitter } from '../emitter.ts';
import { ParleyError } from '../errors.ts';
import type { Signaling } from '../signaling.ts';
import type {
  InputKind,
  MediaConnectionState,
  MediaConstraints,
  PeerHandler,
  PeerHandlerFactory,
  PeerSignal,
} from './peer-handler.ts';
import { measureQuality, type CallQuality, type QualitySample } from './quality.ts';

/** netcall's call type: 1 audio, 2 video. */
export type NetCallType = 1 | 2;

/**
 * `netcall.call()` (specs/netcall-sdk.md). The account (user id) to call is `account`, as the
 * spec's parameter table names it, or `callee`, as its example does.
 */
export type CallOptions = {
  /** The call type, a plain number as in the spec: 1 audio, 2 video (others: `bad_request`). */
  type: number;
  /** Keep ringing devices the callee connects while the call rings. */
  forceKeepCalling?: boolean;
} & ({ account: string; callee?: string } | { callee: string; account?: string });

/** `netcall.response()`: the `beCalling` data, and whether to accept. */
export interface ResponseOptions {
  accepted: boolean;
  caller: string;
  /** The call's type as `beCalling` gave it; the call keeps the type it rang with. */
  type: number;
  cid: string;
}

/** `netcall.startRtc()`: the spec's `mode`, and camera/microphone constraints for this call. */
export interface StartRtcOptions extends MediaConstraints {
  /**
   * How this device joins the call's media: 0 or the call's type (1 audio, 2 video), which is
   * what the spec's examples pass. Parley joins both parties with the call's media, so any
   * other value is refused (`bad_request`).
   */
  mode?: number;
}

/**
 * When an event happened, as the spec types it: a string, the epoch milliseconds in decimal
 * (`Number(timetag)` gives the number back).
 */
export type TimeTag = string;

/** `beCalling`: a call rings this device. */
export interface BeCallingEvent {
  caller: string;
  /** The caller's nickname. */
  callerName: string;
  type: NetCallType;
  cid: string;
  /** The caller's device kind (web, ios, ...). */
  fromClientType: string;
  timetag: TimeTag;
}

/** `callAccepted`: the callee answered the call this device placed. */
export interface CallAcceptedEvent {
  /** The callee. */
  account: string;
  type: NetCallType;
  cid: string;
  /** The answering device's kind. */
  fromClientType: string;
  timetag: TimeTag;
}

/** `callRejected`: the callee declined, or was busy. */
export interface CallRejectedEvent {
  account: string;
  type: NetCallType;
  cid: string;
  reason: 'rejected' | 'busy';
  timetag: TimeTag;
}

/** `callerAckSync`: another device of this user answered a call that rang here too. */
export interface CallerAckSyncEvent {
  timetag: TimeTag;
  cid: string;
  type: NetCallType;
  accepted: boolean;
  fromClientType: string;
}

/** `hangup`: the call ended on the other side or on the server (any reason but a rejection). */
export interface HangupEvent {
  timetag: TimeTag;
  cid: string;
  /** The other party. */
  account: string;
  reason: EndReason;
}

/** A member of the call's media (`syncDone`'s userlist, `clientJoin`). */
export interface NetCallUser {
  account: string;
  /** The member's device id. */
  uid: string;
  /** The media the member joined with: the call's type (1 audio, 2 video). */
  mode: NetCallType;
  /**
   * Not a stream address (Parley's media is a `MediaStream`: `localStream`, `clientJoin.stream`)
   * but the name of the member's media in this call, `parley:<cid>/<uid>`: the same in
   * `syncDone`, `clientJoin` and `clientLeave`, so an app can key its players by it.
   */
  url: string;
}

/** An entry of `syncDone`'s userlist. */
export interface SyncDoneUser extends NetCallUser {
  /** Always '': there is no push stream to authorise (the media goes over DTLS-SRTP). */
  pusher_secret: string;
  /** Always 0: a 1:1 call (meetings are not netcall). */
  scene: number;
}

/**
 * `syncDone`: startRtc joined the call's media. `userlist` is who is in it: this device first
 * (its `url` names the local media, the spec's live-pusher), then the other party's answering
 * device once the call is answered (the live-player).
 */
export interface SyncDoneEvent {
  code: 200;
  errmsg: '';
  userlist: SyncDoneUser[];
}

/** `clientJoin`: the other party's media arrived. */
export interface ClientJoinEvent extends NetCallUser {
  cid: string;
  stream: MediaStream;
}

/** `clientLeave`: the other party's media is gone (the call ended). */
export interface ClientLeaveEvent {
  account: string;
  uid: string;
  /** The member's device id again (the spec names it both `uid` and `id`). */
  id: string;
  cid: string;
  /** As in `clientJoin`. */
  url: string;
}

/** `callEnded` (beyond the spec): every end of the current call, local or remote. */
export interface CallEndedEvent {
  cid: string;
  reason: EndReason;
  /** The user whose action ended it, if any. */
  by: string | null;
}

/** Events of the call API. */
export type NetCallEvents = {
  beCalling: [BeCallingEvent];
  callAccepted: [CallAcceptedEvent];
  callRejected: [CallRejectedEvent];
  callerAckSync: [CallerAckSyncEvent];
  hangup: [HangupEvent];
  syncDone: [SyncDoneEvent];
  clientJoin: [ClientJoinEvent];
  clientLeave: [ClientLeaveEvent];
  /** The call detail record of any call of this user (netcall 话单). */
  callRecord: [CallRecord];
  /** The callee's devices ring (how many). */
  ringing: [{ cid: string; devices: number }];
  callEnded: [CallEndedEvent];
  /** The local camera/microphone stream. */
  localStream: [MediaStream];
  /** The media connection state of the current call. */
  mediaState: [MediaConnectionState];
  /** A quality reading every two seconds while the media is connected. */
  quality: [CallQuality];
};

/** What startRtc resolves with: this device in the call. */
export interface RtcInfo {
  /** This device's id. */
  uid: string;
  account: string;
  cid: string;
}

/** What the call API needs from the client. */
export interface NetCallOptions {
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
}

type Phase = 'inviting' | 'ringing' | 'accepted';

/** The call this device placed or answered. */
interface Current {
  cid: string;
  type: NetCallType;
  role: 'caller' | 'callee';
  /** The other party. */
  peer: string;
  phase: Phase;
  /** The other party's device, once known. */
  remote: DeviceRef | null;
  handler: PeerHandler | null;
  /** Resolves once the connection exists and can negotiate (the caller's opens while ringing). */
  opening: Promise<PeerHandler> | null;
  /** Resolves once the camera and microphone are open (set by `open`). */
  media: Promise<void> | null;
  /** Signals made before the call was answered; sent on accept. */
  outbox: PeerSignal[];
  /** Signals received before the media was up; startRtc applies them. */
  inbox: PeerSignal[];
  rtcStarted: boolean;
  /** startRtc has the media up: signals go straight to the handler. */
  live: boolean;
  joined: boolean;
  /** Resolves with the call id once the invite was acknowledged. */
  invited: Promise<string> | null;
  qualityTimer: ReturnType<typeof setInterval> | null;
  /** Declares the media failed if it has not connected in time (armed by startRtc). */
  mediaTimer: ReturnType<typeof setTimeout> | null;
  mediaState: MediaConnectionState;
  /** What this device told the server of the media (`call:media`): connected is final. */
  mediaReported: 'connected' | 'failed' | null;
  ended: boolean;
}

const typeOf = (m: Media): NetCallType => (m === 'audio' ? 1 : 2);
const mediaUrl = (cid: string, uid: string) => `parley:${cid}/${uid}`;
const now = (): TimeTag => String(Date.now());
const mediaOf = (t: NetCallType): Media => (t === 1 ? 'audio' : 'video');
const REJECTIONS: ReadonlySet<EndReason> = new Set(['rejected', 'busy']);
/**
 * The media of an answered call that has not connected this long after startRtc has failed.
 * The browser may never say so itself: with no usable candidate pair at all (no TURN for a
 * relay-only policy, every address filtered) ICE stays `new` or `checking` forever.
 */
const MEDIA_TIMEOUT_MS = 30_000;

/**
 * The netcall API of specs/netcall-sdk.md on Parley: `call`, `response`, `startRtc`, `hangup`
 * and the spec's events, with the call's RTCPeerConnection owned here (through a PeerHandler).
 * One current call at a time; other calls that ring meanwhile still raise `beCalling`.
 */
export class NetCall extends Emitter<NetCallEvents> {
  private current: Current | null = null;
  /** Calls ringing this device, by call id. */
  private readonly incoming = new Map<string, BeCallingEvent & { device: DeviceRef }>();
  /** Events of our own invite that came before its acknowledgement. */
  private early: CallEvent[] = [];
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
    o.signaling.on('resumed', () => {
      // Media does not need the signaling socket; only a connection that suffered restarts.
      const cur = this.current;
      if (cur?.live && cur.mediaState !== 'connected') cur.handler?.restartIce();
    });
  }

  /** The current call's id, if there is one. */
  get cid(): string | null {
    return this.current?.cid || null;
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
    const cur = this.fresh('', type, 'caller', callee, 'inviting');
    this.current = cur;
    if (this.o.preconnect ?? true) this.open(cur).catch(() => undefined);
    cur.invited = this.o.signaling
      .request<{ callId: string; glare?: true }>('call:invite', {
        callee,
        media: mediaOf(type),
        keepCalling: options.forceKeepCalling ?? false,
      })
      .then((r) => {
        cur.cid = r.callId;
        if (r.glare) this.glare(cur);
        const early = this.early;
        this.early = [];
        for (const e of early) this.onEvent(e);
        return r.callId;
      });
    let cid: string;
    try {
      cid = await cur.invited;
    } catch (err) {
      this.finish(cur, 'failed', null);
      throw err;
    }
    try {
      await cur.opening;
      await cur.media;
    } catch (err) {
      // The camera failed while the call rings: the call cannot go on.
      if (cur.ended) return { cid };
      this.finish(cur, 'failed', null);
      this.o.signaling.request('call:hangup', { callId: cid }).catch(() => undefined);
      throw err;
    }
    return { cid };
  }

  /** Answers a call that rang here (`beCalling`): accept or reject. */
  async response(options: ResponseOptions): Promise<void> {
    const ringing = this.incoming.get(options.cid);
    if (!ringing) throw new ParleyError('not_found', `no ringing call ${options.cid}`);
    if (!options.accepted) {
      this.incoming.delete(options.cid);
      await this.o.signaling.request('call:reject', { callId: options.cid });
      return;
    }
    if (this.current) throw ParleyError.invalidState('already in a call: hang up first');
    const cur = this.fresh(options.cid, ringing.type, 'callee', ringing.caller, 'accepted');
    cur.remote = ringing.device;
    this.current = cur;
    this.incoming.delete(options.cid);
    try {
      await this.o.signaling.request('call:accept', { callId: options.cid });
    } catch (err) {
      this.finish(cur, 'failed', null);
      throw err;
    }
  }

  /**
   * Starts the call's media once it is answered (both sides call it: the caller on
   * `callAccepted`, the callee after `response`), as `startRtc({ mode: 0 })` in the spec.
   * Resolves with `{ uid, account, cid }` once the local media is up, after `syncDone`;
   * `clientJoin` follows when the other party's media arrives.
   */
  async startRtc(options: StartRtcOptions = {}): Promise<RtcInfo> {
    const cur = this.current;
    if (!cur || cur.phase !== 'accepted') throw ParleyError.invalidState('no answered call');
    const { mode = 0, ...constraints } = options;
    if (mode !== 0 && mode !== cur.type) {
      throw ParleyError.badRequest(`mode must be 0 or the call's type (${cur.type})`);
    }
    if (!cur.rtcStarted) {
      cur.rtcStarted = true;
      await this.open(cur, constraints);
      if (cur.ended) throw ParleyError.invalidState('the call ended');
      const member = (account: string, uid: string): SyncDoneUser => ({
        account,
        uid,
        mode: cur.type,
        url: mediaUrl(cur.cid, uid),
        pusher_secret: '',
        scene: 0,
      });
      const self = member(this.o.userId(), this.o.signaling.deviceId ?? '');
      this.emit('syncDone', {
        code: 200,
        errmsg: '',
        userlist: cur.remote ? [self, member(cur.peer, cur.remote.deviceId)] : [self],
      });
      cur.live = true;
      this.armMediaTimeout(cur);
      const inbox = cur.inbox;
      cur.inbox = [];
      for (const s of inbox) this.apply(cur, s);
    }
    await cur.opening;
    await cur.media;
    return { uid: this.o.signaling.deviceId ?? '', account: this.o.userId(), cid: cur.cid };
  }

  /**
   * Ends the current call: cancels it while it rings, hangs up once answered. Resolves once the
   * server has it; the other side gets `hangup`. Without a call it resolves and does nothing:
   * the call may have ended meanwhile, and the spec's own call timer hangs up without looking.
   */
  async hangup(): Promise<void> {
    const cur = this.current;
    if (!cur) return;
    const reason: EndReason = cur.phase === 'accepted' ? 'hangup' : 'cancelled';
    this.finish(cur, reason, this.o.userId());
    const cid = cur.cid || (await cur.invited?.catch(() => null));
    if (!cid) return;
    try {
      await this.o.signaling.request('call:hangup', { callId: cid });
    } catch (err) {
      // The call may have ended meanwhile on the server: it is over either way.
      const code = (err as ParleyError).code;
      if (code !== 'not_found' && code !== 'invalid_state' && code !== 'not_in_call') throw err;
    }
  }

  /** Mutes or unmutes the microphone. */
  setMuted(muted: boolean): void {
    this.muted = muted;
    this.current?.handler?.setAudioEnabled(!muted);
  }

  /** Turns the camera off (releasing it) or on again. */
  async setCamera(on: boolean): Promise<void> {
    this.cameraOn = on;
    await this.current?.handler?.setVideoEnabled(on);
  }

  /** Moves the current call to another microphone or camera. */
  async switchDevice(kind: InputKind, deviceId: string): Promise<void> {
    const h = this.current?.handler;
    if (!h) throw ParleyError.invalidState('no call media to switch');
    await h.switchDevice(kind, deviceId);
  }

  /** The current call's WebRTC statistics. */
  getStats(): Promise<RTCStatsReport> {
    const h = this.current?.handler;
    if (!h) return Promise.reject(ParleyError.invalidState('no call media'));
    return h.getStats();
  }

  /** The network changed: the current call restarts ICE on the new path. */
  networkChanged(): void {
    if (this.current?.live) this.current.handler?.restartIce();
  }

  private fresh(cid: string, type: NetCallType, role: Current['role'], peer: string, phase: Phase) {
    return {
      cid,
      type,
      role,
      peer,
      phase,
      remote: null,
      handler: null,
      opening: null,
      media: null,
      outbox: [],
      inbox: [],
      rtcStarted: false,
      live: false,
      joined: false,
      invited: null,
      qualityTimer: null,
      mediaTimer: null,
      mediaState: 'new',
      mediaReported: null,
      ended: false,
    } satisfies Current as Current;
  }

  /**
   * Creates the call's connection (once): negotiation starts at once, and the camera and
   * microphone join it when they are open (`cur.media`), so opening them never delays the
   * connection. Signals wait in the outbox until the call is answered.
   */
  private open(cur: Current, constraints?: MediaConstraints): Promise<PeerHandler> {
    cur.opening ??= (async () => {
      const handler = this.o.peerHandler();
      cur.handler = handler;
      handler.on('signal', (s) => {
        if (cur.ended || cur.handler !== handler) return;
        if (cur.phase === 'accepted') this.sendSignal(cur, s);
        else cur.outbox.push(s);
      });
      handler.on('localStream', (s) => this.emit('localStream', s));
      handler.on('remoteStream', (stream) => {
        if (cur.ended || cur.joined || cur.handler !== handler) return;
        cur.joined = true;
        const uid = cur.remote?.deviceId ?? '';
        this.emit('clientJoin', {
          account: cur.peer,
          uid,
          mode: cur.type,
          url: mediaUrl(cur.cid, uid),
          cid: cur.cid,
          stream,
        });
      });
      handler.on('state', (state) => {
        if (cur.ended || cur.handler !== handler) return;
        cur.mediaState = state;
        this.emit('mediaState', state);
        if (state === 'connected') {
          this.clearMediaTimeout(cur);
          this.startQuality(cur);
        }
        if (state === 'connected' || state === 'failed') this.reportMedia(cur, state);
      });
      const iceServers = await this.o.iceServers();
      if (cur.ended || cur.handler !== handler) {
        handler.close();
        throw ParleyError.invalidState('the call ended');
      }
      const devices = handler.start({
        media: mediaOf(cur.type),
        polite: cur.role === 'callee',
        iceServers,
        ...(this.o.iceTransportPolicy ? { iceTransportPolicy: this.o.iceTransportPolicy } : {}),
        ...this.o.constraints,
        ...constraints,
      });
      handler.setAudioEnabled(!this.muted);
      cur.media = devices.then(async () => {
        if (!this.cameraOn && cur.type === 2 && !cur.ended) await handler.setVideoEnabled(false);
      });
      // Observed by call() and startRtc(); a failure must not go unhandled meanwhile.
      cur.media.catch(() => undefined);
      if (cur.role === 'caller') handler.call();
      return handler;
    })();
    return cur.opening;
  }

  /**
   * Tells the server that ICE/DTLS connected or failed (`reason`: `ice_failed`, or
   * `ice_timeout`): it cannot see peer-to-peer media, and counts the call's success, connection
   * time and errors from this. Once connected, later failures are the quality monitor's
   * business, not the call's outcome.
   */
  private reportMedia(cur: Current, state: 'connected' | 'failed', reason = 'ice_failed'): void {
    if (cur.mediaReported === 'connected' || cur.mediaReported === state) return;
    cur.mediaReported = state;
    const data =
      state === 'connected'
        ? { callId: cur.cid, state, at: Date.now() }
        : { callId: cur.cid, state, reason };
    // Only a report: a call that ended meanwhile answers with an error nobody waits for.
    this.o.signaling.request('call:media', data).catch(() => undefined);
  }

  /**
   * Gives the media `mediaTimeoutMs` to connect: past it the call's media has failed
   * (`mediaState` `failed`, reported as `ice_timeout`). The call stays up, as after `ice_failed`:
   * the app decides whether to hang up, and media that connects later still counts.
   */
  private armMediaTimeout(cur: Current): void {
    if (cur.mediaTimer || cur.mediaState === 'connected') return;
    cur.mediaTimer = setTimeout(() => {
      cur.mediaTimer = null;
      if (cur.ended || cur.mediaState === 'connected' || cur.mediaReported) return;
      cur.mediaState = 'failed';
      this.emit('mediaState', 'failed');
      this.reportMedia(cur, 'failed', 'ice_timeout');
    }, this.o.mediaTimeoutMs ?? MEDIA_TIMEOUT_MS);
  }

  private clearMediaTimeout(cur: Current): void {
    if (cur.mediaTimer) clearTimeout(cur.mediaTimer);
    cur.mediaTimer = null;
  }

  private sendSignal(cur: Current, s: PeerSignal): void {
    const data =
      s.kind === 'ice'
        ? { callId: cur.cid, candidate: s.candidate }
        : { callId: cur.cid, sdp: s.sdp };
    try {
      this.o.signaling.send(`call:${s.kind}`, data);
    } catch {
      // Not connected for good: the call ends through sessionLost / the server.
    }
  }

  private apply(cur: Current, s: PeerSignal): void {
    cur.handler?.receive(s).catch((err: unknown) => {
      console.warn('parley: a call signal could not be applied', err);
    });
  }

  private startQuality(cur: Current): void {
    if (cur.qualityTimer || !cur.handler) return;
    let previous: QualitySample | null = null;
    cur.qualityTimer = setInterval(() => {
      cur.handler
        ?.getStats()
        .then((report) => {
          if (cur.ended) return;
          const { quality, sample } = measureQuality(report, previous, Date.now());
          if (previous) this.emit('quality', quality);
          previous = sample;
        })
        .catch(() => undefined);
    }, this.o.qualityIntervalMs ?? 2_000);
  }

  /**
   * glare: our invite answered the callee's ringing call to us; we are its callee now. Media
   * readied as the caller is dropped: the other side offers, and startRtc answers it.
   */
  private glare(cur: Current): void {
    const ringing = this.incoming.get(cur.cid);
    this.incoming.delete(cur.cid);
    cur.role = 'callee';
    cur.phase = 'accepted';
    cur.remote = ringing?.device ?? null;
    const readied = cur.handler;
    cur.handler = null;
    readied?.close();
    cur.opening?.catch(() => undefined);
    cur.opening = null;
    cur.media = null;
    cur.outbox = [];
    this.emit('callAccepted', {
      account: cur.peer,
      type: cur.type,
      cid: cur.cid,
      fromClientType: ringing?.fromClientType ?? 'web',
      timetag: now(),
    });
  }

  private flushOutbox(cur: Current): void {
    const out = cur.outbox;
    cur.outbox = [];
    for (const s of out) this.sendSignal(cur, s);
  }

  private onEvent(e: ServerEvent): void {
    if (e.type === 'call:record') {
      this.emit('callRecord', e.record);
      return;
    }
    if (!e.type.startsWith('call:')) return;
    const ev = e as CallEvent & { callId: string; caller: string; callee: string };
    const cur = this.current;
    if (
      cur &&
      cur.phase === 'inviting' &&
      cur.cid === '' &&
      ev.caller === this.o.userId() &&
      ev.callee === cur.peer
    ) {
      this.early.push(ev);
      return;
    }
    if (cur && ev.callId === cur.cid) this.onCurrent(cur, ev);
    else this.onOther(ev);
  }

  private onCurrent(cur: Current, e: CallEvent): void {
    switch (e.type) {
      case 'call:ringing':
        cur.phase = 'ringing';
        this.emit('ringing', { cid: cur.cid, devices: e.devices });
        return;
      case 'call:accepted':
        cur.phase = 'accepted';
        cur.remote = e.by;
        this.flushOutbox(cur);
        this.emit('callAccepted', {
          account: cur.peer,
          type: cur.type,
          cid: cur.cid,
          fromClientType: e.by.clientType,
          timetag: now(),
        });
        return;
      case 'call:offer':
      case 'call:answer':
      case 'call:ice': {
        const s: PeerSignal =
          e.type === 'call:ice'
            ? { kind: 'ice', candidate: e.candidate }
            : { kind: e.type === 'call:offer' ? 'offer' : 'answer', sdp: e.sdp };
        if (cur.live) this.apply(cur, s);
        else cur.inbox.push(s);
        return;
      }
      case 'call:ended': {
        // The spec's event first, then the media goes (clientLeave, callEnded).
        const timetag = now();
        if (REJECTIONS.has(e.reason) && cur.role === 'caller') {
          this.emit('callRejected', {
            account: cur.peer,
            type: cur.type,
            cid: cur.cid,
            reason: e.reason as 'rejected' | 'busy',
            timetag,
          });
        } else {
          this.emit('hangup', { timetag, cid: cur.cid, account: cur.peer, reason: e.reason });
        }
        this.finish(cur, e.reason, e.by);
        return;
      }
      default:
        return;
    }
  }

  private onOther(e: CallEvent): void {
    if (e.type === 'call:incoming') {
      const info: BeCallingEvent = {
        caller: e.caller,
        callerName: e.callerName,
        type: typeOf(e.media),
        cid: e.callId,
        fromClientType: e.callerDevice.clientType,
        timetag: now(),
      };
      this.incoming.set(e.callId, { ...info, device: e.callerDevice });
      this.emit('beCalling', info);
    } else if (e.type === 'call:answered_elsewhere') {
      if (!this.incoming.delete(e.callId)) return;
      this.emit('callerAckSync', {
        timetag: String(e.timetag),
        cid: e.callId,
        type: typeOf(e.media),
        accepted: e.accepted,
        fromClientType: e.fromClientType,
      });
    } else if (e.type === 'call:ended') {
      const ringing = this.incoming.get(e.callId);
      if (!ringing) return;
      this.incoming.delete(e.callId);
      this.emit('hangup', {
        timetag: now(),
        cid: e.callId,
        account: ringing.caller,
        reason: e.reason,
      });
    }
  }

  /** The device is gone (a new one came back, or none will): every call of it is over. */
  private onSessionLost(): void {
    const timetag = now();
    for (const [cid, ringing] of this.incoming) {
      this.emit('hangup', { timetag, cid, account: ringing.caller, reason: 'disconnected' });
    }
    this.incoming.clear();
    const cur = this.current;
    if (!cur) return;
    this.emit('hangup', { timetag, cid: cur.cid, account: cur.peer, reason: 'disconnected' });
    this.finish(cur, 'disconnected', null);
  }

  /** Ends the current call locally: media closed, `clientLeave` and `callEnded` raised. */
  private finish(cur: Current, reason: EndReason, by: string | null): void {
    if (cur.ended) return;
    cur.ended = true;
    if (cur.qualityTimer) clearInterval(cur.qualityTimer);
    this.clearMediaTimeout(cur);
    cur.handler?.close();
    if (this.current === cur) this.current = null;
    this.early = [];
    if (cur.joined) {
      const uid = cur.remote?.deviceId ?? '';
      this.emit('clientLeave', {
        account: cur.peer,
        uid,
        id: uid,
        cid: cur.cid,
        url: mediaUrl(cur.cid, uid),
      });
    }
    this.emit('callEnded', { cid: cur.cid, reason, by });
  }
}
