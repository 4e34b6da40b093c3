import type { Device } from 'mediasoup-client';
import type { IceServer, MeetingInfo } from '@parley/protocol';
import { BrowserPeerHandler } from './call/browser-peer.ts';
import { NetCall } from './call/netcall.ts';
import type { MediaConstraints, PeerHandlerFactory } from './call/peer-handler.ts';
import { Emitter } from './emitter.ts';
import { ParleyError } from './errors.ts';
import { Meeting } from './meeting/meeting.ts';
import { MeetingDevices } from './meeting/devices.ts';
import { DefaultReconnectPolicy, type ReconnectPolicy } from './reconnect-policy.ts';
import { RestApi } from './rest.ts';
import { Signaling, type ConnectionState, type TokenSource } from './signaling.ts';
import { browserSocket, type SocketFactory } from './socket.ts';

/** How a client connects. Only `token` is required in a page served by Parley. */
export interface ParleyClientOptions {
  /** The server, `http(s)://host:port`; default: the page's origin. */
  url?: string;
  /** A JWT, or a function that returns a fresh one for every (re)connection. */
  token: TokenSource;
  /** The kind of device this is (`web`, `ios`, ...); default `web`. */
  clientType?: string;
  /** When to retry after a drop; default: backoff with jitter, giving up after a minute. */
  reconnectPolicy?: ReconnectPolicy;
  /** How long a request waits for its answer; default 10 s. */
  requestTimeoutMs?: number;
  /** How long a connection attempt may take; default 10 s. */
  connectTimeoutMs?: number;
  /** Ready the caller's camera and connection while the callee's devices ring; default true. */
  preconnect?: boolean;
  /** Camera and microphone constraints for calls. */
  constraints?: MediaConstraints;
  /**
   * How long a call's media may take to connect after `startRtc()` before it counts as failed
   * (`mediaState` `failed`, reported to the server as `ice_timeout`); default 30 s.
   */
  mediaTimeoutMs?: number;
  /** `relay`: call and meeting media only through TURN (hides local addresses); default `all`. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** The WebSocket to use (tests plug a fake signaling server in here). */
  socket?: SocketFactory;
  /** The WebRTC side of calls (tests plug a fake in here). */
  peerHandler?: PeerHandlerFactory;
  /** fetch for the REST API. */
  fetch?: typeof fetch;
  /** mediasoup-client's Device for meetings (tests use one on its FakeHandler). */
  meetingDevice?: () => Device;
}

/** Events of the client's connection. */
export type ParleyClientEvents = {
  /** The signaling connection state changed. */
  connectionState: [ConnectionState];
  /** Retrying after a drop. */
  reconnecting: [{ attempt: number; delayMs: number; reason: string }];
  /** Back after a drop as the same device: calls and meetings went on. */
  resumed: [];
  /** Back after a drop as a new device: the old device's calls ended (with `hangup`). */
  sessionLost: [];
  /** Gave up reconnecting. */
  disconnected: [{ reason: string }];
  /** An error the server sent that answers no request. */
  error: [ParleyError];
};

/** ICE servers are fetched again after this long (TURN credentials expire). */
const ICE_TTL_MS = 10 * 60_000;

/**
 * Parley's browser SDK: one signaling connection (native `/ws`) that reconnects and resumes,
 * the netcall call API on `netcall`, meetings through `joinMeeting`, and the REST API on `rest`.
 *
 * ```ts
 * const client = new ParleyClient({ token });
 * await client.connect();
 * client.netcall.on('beCalling', (c) => client.netcall.response({ ...c, accepted: true }));
 * ```
 */
export class ParleyClient extends Emitter<ParleyClientEvents> {
  /** The 1:1 call API (specs/netcall-sdk.md). */
  readonly netcall: NetCall;
  /** The REST API (presence, call history, meetings). */
  readonly rest: RestApi;
  private readonly signaling: Signaling;
  private readonly o: ParleyClientOptions;
  private user = '';
  private ice: { servers: IceServer[]; at: number } | null = null;
  private unlisten: (() => void) | null = null;
  /** The mediasoup-client Device every meeting of this client shares, loaded once. */
  private readonly devices: MeetingDevices;

  constructor(options: ParleyClientOptions) {
    super();
    this.o = options;
    this.devices = new MeetingDevices(options.meetingDevice);
    const url = (options.url ?? globalThis.location?.origin ?? '').replace(/\/+$/, '');
    if (!url) throw ParleyError.badRequest('url is required outside a browser page');
    this.signaling = new Signaling({
      wsUrl: url.replace(/^http/, 'ws'),
      token: options.token,
      clientType: options.clientType ?? 'web',
      socket: options.socket ?? browserSocket,
      reconnectPolicy: options.reconnectPolicy ?? new DefaultReconnectPolicy(),
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    });
    this.rest = new RestApi(
      url,
      () => this.signaling.currentToken(),
      options.fetch ?? globalThis.fetch.bind(globalThis),
    );
    this.netcall = new NetCall({
      signaling: this.signaling,
      userId: () => this.user,
      peerHandler: options.peerHandler ?? (() => new BrowserPeerHandler()),
      iceServers: () => this.iceServers(),
      ...(options.preconnect === undefined ? {} : { preconnect: options.preconnect }),
      ...(options.constraints ? { constraints: options.constraints } : {}),
      ...(options.mediaTimeoutMs === undefined ? {} : { mediaTimeoutMs: options.mediaTimeoutMs }),
      ...(options.iceTransportPolicy ? { iceTransportPolicy: options.iceTransportPolicy } : {}),
    });
    const s = this.signaling;
    s.on('state', (state) => this.emit('connectionState', state));
    s.on('reconnecting', (r) => this.emit('reconnecting', r));
    s.on('resumed', () => this.emit('resumed'));
    s.on('sessionLost', () => this.emit('sessionLost'));
    s.on('closed', (r) => this.emit('disconnected', r));
    s.on('error', (e) => this.emit('error', e));
  }

  /** The signaling connection state. */
  get state(): ConnectionState {
    return this.signaling.state;
  }

  /** The signed-in user's id, once connected. */
  get userId(): string {
    return this.user;
  }

  /** This device's id (kept across resumes), once connected. */
  get deviceId(): string | undefined {
    return this.signaling.deviceId;
  }

  /** Connects. Rejects with `not_connected` if the server cannot be reached or refuses the token. */
  async connect(): Promise<void> {
    const session = await this.signaling.connect();
    this.user = session.userId;
    this.listenToNetwork();
  }

  /** Disconnects for good: the server ends this device's calls at once (no resume). */
  disconnect(): void {
    this.unlisten?.();
    this.unlisten = null;
    this.signaling.disconnect();
  }

  /**
   * Gives the connection a later token of the same user before its token expires (the server
   * closes a connection at its token's expiry, 4001). Resolves with the new deadline (epoch ms).
   * With a token function in the options this happens on its own; with a string token, call it
   * yourself (REST calls and reconnections use the new token from then on).
   */
  refreshToken(token: string): Promise<number> {
    return this.signaling.refreshToken(token);
  }

  /** Creates a meeting hosted by this user. */
  createMeeting(title?: string): Promise<MeetingInfo> {
    return this.rest.createMeeting(title);
  }

  /** Joins a meeting and its media; `publish()` the camera and microphone next. */
  async joinMeeting(meetingId: string, options: { nickname?: string } = {}): Promise<Meeting> {
    const meeting = new Meeting({
      meetingId,
      signaling: this.signaling,
      rest: this.rest,
      ...(options.nickname ? { nickname: options.nickname } : {}),
      devices: this.devices,
      ...(this.o.iceTransportPolicy ? { iceTransportPolicy: this.o.iceTransportPolicy } : {}),
    });
    await meeting.join();
    return meeting;
  }

  private async iceServers(): Promise<IceServer[]> {
    if (!this.ice || Date.now() - this.ice.at > ICE_TTL_MS) {
      this.ice = { servers: await this.rest.iceServers(), at: Date.now() };
    }
    return this.ice.servers;
  }

  /** A new network (back online, Wi-Fi ↔ cellular): resume the socket, restart call ICE. */
  private listenToNetwork(): void {
    if (typeof window === 'undefined' || this.unlisten) return;
    const changed = () => {
      this.signaling.networkChanged();
      this.netcall.networkChanged();
    };
    const connection = (navigator as Navigator & { connection?: EventTarget }).connection;
    window.addEventListener('online', changed);
    connection?.addEventListener('change', changed);
    this.unlisten = () => {
      window.removeEventListener('online', changed);
      connection?.removeEventListener('change', changed);
    };
  }
}
