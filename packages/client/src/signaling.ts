import type { ErrorBody, ServerEvent, SessionReady } from '@parley/protocol';
import { Emitter } from './emitter.ts';
import { ParleyError } from './errors.ts';
import type { ReconnectPolicy } from './reconnect-policy.ts';
import type { SignalingSocket, SocketFactory } from './socket.ts';

/**
 * The close code of a device an administrator disconnected (docs/protocol.md): it is not
 * reconnected, which would make it a new device of the same user at once.
 */
const KICKED = 4012;

/** Where the signaling connection is. */
export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

/**
 * A bearer token, or a function that returns a fresh one for every (re)connection and, before
 * the connection's token expires, for `auth:refresh`.
 */
export type TokenSource = string | (() => string | Promise<string>);

/** The longest delay a timer takes (~24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * When to refresh a token that expires in `remainingMs`: a quarter of the way before expiry,
 * at most a minute before it.
 */
export function refreshDelayMs(remainingMs: number): number {
  const delay = Math.max(0, remainingMs - Math.min(60_000, remainingMs / 4));
  return Math.min(delay, MAX_TIMER_MS);
}

/** What the signaling connection needs. */
export interface SignalingOptions {
  /** `ws://host:port` or `wss://host`; the native endpoint `/ws` is appended. */
  wsUrl: string;
  token: TokenSource;
  clientType: string;
  socket: SocketFactory;
  reconnectPolicy: ReconnectPolicy;
  /** How long a request waits for its answer. */
  requestTimeoutMs: number;
  /** How long one connection attempt may take to open. */
  connectTimeoutMs: number;
}

/** Events of the signaling connection. */
export type SignalingEvents = {
  /** The connection state changed. */
  state: [ConnectionState];
  /** An event from the server (`call:*`, `rtc:*`, ...). */
  event: [ServerEvent];
  /** An error frame that answers no request (e.g. a refused ICE candidate). */
  error: [ParleyError];
  /** Retrying after a drop: attempt number (1-based), delay before it, and why. */
  reconnecting: [{ attempt: number; delayMs: number; reason: string }];
  /** The connection came back as the same device: nothing was lost. */
  resumed: [];
  /**
   * The connection came back as a new device (the server's grace ran out): the old device's
   * calls and meeting peers are gone and its pending requests failed with `session_lost`.
   */
  sessionLost: [];
  /**
   * Reconnection gave up (the policy returned null), or an administrator disconnected the
   * device (close 4012), which is not reconnected.
   */
  closed: [{ reason: string }];
};

interface Pending {
  type: string;
  resolve: (data: unknown) => void;
  reject: (err: ParleyError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** A server frame on the native endpoint. */
interface Frame {
  type: string;
  data?: unknown;
  requestId?: string;
  error?: ErrorBody;
}

/**
 * The native `/ws` connection: requests with a requestId and a timeout, typed server events,
 * and reconnection that resumes the same device (`?resume=<token>&received=<n>`), so a drop
 * within the server's grace loses neither a call nor a frame. Commands sent while reconnecting
 * wait and go out once the device is back.
 */
export class Signaling extends Emitter<SignalingEvents> {
  private socket: SignalingSocket | null = null;
  private _state: ConnectionState = 'disconnected';
  private session: SessionReady | null = null;
  /** Frames received in this session (session:ready not counted): the resume's `received`. */
  private received = 0;
  private readonly pending = new Map<string, Pending>();
  private queue: string[] = [];
  private nextId = 0;
  private retry: { count: number; since: number; timer: ReturnType<typeof setTimeout> | null } = {
    count: 0,
    since: 0,
    timer: null,
  };
  private firstConnect: { resolve: (s: SessionReady) => void; reject: (e: Error) => void } | null =
    null;
  /** The token source; a string given to refreshToken() replaces a string one. */
  private token: TokenSource;
  /** Asks the token source for a fresh token before the connection's expires. */
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly o: SignalingOptions) {
    super();
    this.token = o.token;
  }

  /** The current token (the latest refreshed one when tokens are given as strings). */
  currentToken(): string | Promise<string> {
    return typeof this.token === 'string' ? this.token : this.token();
  }

  /**
   * Replaces the connection's token before it expires (`auth:refresh`): resolves with the new
   * deadline (epoch ms). The server refuses a token of another user (`forbidden`) or a bad one
   * (`unauthorized`). When tokens were given as a string, reconnections use this one from now.
   */
  async refreshToken(token: string): Promise<number> {
    const { expiresAt } = await this.request<{ expiresAt: number }>('auth:refresh', { token });
    if (typeof this.o.token === 'string') this.token = token;
    this.scheduleRefresh(expiresAt);
    return expiresAt;
  }

  /**
   * With a token function, asks it for a new token ahead of `expiresAt` and refreshes the
   * connection with it; a failure is an `error` event (the server then closes the socket at
   * expiry, and the reconnection asks the function again).
   */
  private scheduleRefresh(expiresAt: number): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    if (typeof this.token === 'string') return;
    const source = this.token;
    this.refreshTimer = setTimeout(
      () => {
        this.refreshTimer = null;
        void (async () => source())()
          .then((token) => this.refreshToken(token))
          .catch((err: unknown) =>
            this.emit(
              'error',
              err instanceof ParleyError
                ? err
                : new ParleyError('unauthorized', `token refresh failed: ${String(err)}`),
            ),
          );
      },
      refreshDelayMs(expiresAt - Date.now()),
    );
    // In Node, a refresh due later must not keep the process alive by itself.
    (this.refreshTimer as { unref?: () => void }).unref?.();
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this._state;
  }

  /** This device's id (stable across resumes), once connected. */
  get deviceId(): string | undefined {
    return this.session?.deviceId;
  }

  /** Connects; resolves with the session once the server said `session:ready`. */
  connect(): Promise<SessionReady> {
    if (this._state !== 'disconnected') {
      return Promise.reject(ParleyError.invalidState(`already ${this._state}`));
    }
    this.setState('connecting');
    return new Promise((resolve, reject) => {
      this.firstConnect = { resolve, reject };
      void this.open();
    });
  }

  /** Sends a command and resolves with the server's `ok` data (or rejects with its error). */
  request<T = unknown>(
    type: string,
    data: unknown,
    timeoutMs = this.o.requestTimeoutMs,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const requestId = `c${++this.nextId}`;
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(ParleyError.timeout(type, timeoutMs));
      }, timeoutMs);
      this.pending.set(requestId, {
        type,
        resolve: resolve as (d: unknown) => void,
        reject,
        timer,
      });
      try {
        this.write(JSON.stringify({ type, data, requestId }));
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(requestId);
        reject(err instanceof Error ? err : ParleyError.notConnected());
      }
    });
  }

  /** Sends a command without waiting (ICE trickle); only an error would come back. */
  send(type: string, data: unknown): void {
    this.write(JSON.stringify({ type, data }));
  }

  /**
   * The network changed (the browser went online, or switched networks): the socket may be dead
   * without knowing it, so a connected client resumes on a fresh one at once.
   */
  networkChanged(): void {
    if (this._state === 'connected') this.socket?.close(4000, 'network changed');
    else if (this._state === 'reconnecting' && this.retry.timer) {
      clearTimeout(this.retry.timer);
      this.retry.timer = null;
      void this.open();
    }
  }

  /** Closes for good: pending requests fail with `closed`. Idempotent. */
  disconnect(): void {
    if (this._state === 'disconnected') return;
    if (this.retry.timer) clearTimeout(this.retry.timer);
    this.retry.timer = null;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'client closed');
    this.failPending(ParleyError.closed());
    this.queue = [];
    this.session = null;
    this.firstConnect?.reject(ParleyError.closed());
    this.firstConnect = null;
    this.setState('disconnected');
  }

  private write(text: string): void {
    if (this._state === 'connected' && this.socket) this.socket.send(text);
    else if (this._state === 'reconnecting' || this._state === 'connecting') this.queue.push(text);
    else throw ParleyError.notConnected();
  }

  private async open(): Promise<void> {
    let token: string;
    try {
      token = await this.currentToken();
    } catch (err) {
      this.dropped(`token: ${(err as Error).message}`);
      return;
    }
    if (this._state === 'disconnected') return;
    const q = new URLSearchParams({ token, clientType: this.o.clientType });
    if (this.session) {
      q.set('resume', this.session.resumeToken);
      q.set('received', String(this.received));
    } else {
      q.set('resumable', '1');
    }
    const socket = this.o.socket(`${this.o.wsUrl}/ws?${q.toString()}`);
    this.socket = socket;
    const openTimer = setTimeout(
      () => socket.close(4000, 'connect timeout'),
      this.o.connectTimeoutMs,
    );
    socket.onopen = () => clearTimeout(openTimer);
    socket.onmessage = (ev) => {
      if (this.socket === socket) this.onFrame(ev.data);
    };
    socket.onclose = (ev) => {
      clearTimeout(openTimer);
      if (this.socket !== socket) return;
      this.socket = null;
      const reason = `closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`;
      if (ev.code === KICKED) this.closedByServer(reason);
      else this.dropped(reason);
    };
    socket.onerror = () => undefined;
  }

  private onFrame(raw: unknown): void {
    let f: Frame;
    try {
      f = JSON.parse(String(raw)) as Frame;
    } catch {
      return;
    }
    if (f.type === 'session:ready') {
      this.onSession(f.data as SessionReady);
      return;
    }
    this.received++;
    const pending = f.requestId === undefined ? undefined : this.pending.get(f.requestId);
    if (pending && (f.type === 'ok' || f.type === 'error')) {
      clearTimeout(pending.timer);
      this.pending.delete(f.requestId!);
      if (f.type === 'ok') pending.resolve(f.data ?? {});
      else pending.reject(ParleyError.fromBody(f.error!));
      return;
    }
    if (f.type === 'error') {
      if (f.error) this.emit('error', ParleyError.fromBody(f.error));
      return;
    }
    if (f.type !== 'ok') this.emit('event', f.data as ServerEvent);
  }

  private onSession(s: SessionReady): void {
    const previous = this.session;
    this.session = s;
    this.retry = { count: 0, since: 0, timer: null };
    if (typeof s.tokenExpiresAt === 'number') this.scheduleRefresh(s.tokenExpiresAt);
    if (previous && !s.resumed) {
      this.received = 0;
      this.queue = [];
      this.failPending(ParleyError.sessionLost());
    }
    const queued = this.queue;
    this.queue = [];
    this.setState('connected');
    for (const text of queued) this.socket?.send(text);
    if (this.firstConnect) {
      this.firstConnect.resolve(s);
      this.firstConnect = null;
    } else if (s.resumed) {
      this.emit('resumed');
    } else {
      this.emit('sessionLost');
    }
  }

  private dropped(reason: string): void {
    if (this._state === 'disconnected') return;
    if (this.firstConnect) {
      // The first connection never came up: report it instead of retrying (bad token, no server).
      const { reject } = this.firstConnect;
      this.firstConnect = null;
      this.failPending(ParleyError.notConnected());
      this.queue = [];
      this.setState('disconnected');
      reject(new ParleyError('not_connected', `cannot connect: ${reason}`));
      return;
    }
    if (this._state !== 'reconnecting') {
      this.retry = { count: 0, since: Date.now(), timer: null };
      this.setState('reconnecting');
    }
    const delayMs = this.o.reconnectPolicy.nextRetryDelayInMs({
      retryCount: this.retry.count,
      elapsedMs: Date.now() - this.retry.since,
      reason,
    });
    if (delayMs === null) {
      this.failPending(ParleyError.notConnected());
      this.queue = [];
      this.session = null;
      this.setState('disconnected');
      this.emit('closed', { reason });
      return;
    }
    this.retry.count++;
    this.emit('reconnecting', { attempt: this.retry.count, delayMs, reason });
    this.retry.timer = setTimeout(() => {
      this.retry.timer = null;
      void this.open();
    }, delayMs);
  }

  /** The server ended this device on purpose: closed, without a retry. */
  private closedByServer(reason: string): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.failPending(ParleyError.notConnected());
    this.queue = [];
    this.session = null;
    this.firstConnect?.reject(new ParleyError('not_connected', `cannot connect: ${reason}`));
    this.firstConnect = null;
    this.setState('disconnected');
    this.emit('closed', { reason });
  }

  private failPending(err: ParleyError): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  private setState(s: ConnectionState): void {
    if (this._state === s) return;
    this._state = s;
    this.emit('state', s);
  }
}
