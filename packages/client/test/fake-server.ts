import type { ServerEvent } from '@parley/protocol';
import { DefaultReconnectPolicy, type ReconnectPolicy } from '../src/reconnect-policy.ts';
import { Signaling, type TokenSource } from '../src/signaling.ts';
import type { SignalingSocket, SocketFactory } from '../src/socket.ts';

/**
 * A fake of Parley's native endpoint for the SDK's unit tests: the SDK gets it through the same
 * SocketFactory as a browser WebSocket. It speaks the envelope (session:ready, ok/error by
 * requestId, events) and resumes the way the server does; tests script the answers.
 */

/** A frame the client sent. */
export interface ClientFrame {
  type: string;
  data: Record<string, unknown>;
  requestId?: string;
}

/** Answers a request: a value is sent as `ok`; a thrown `{code, message}` as `error`. */
export type Handler = (data: Record<string, unknown>) => unknown;

/** The fake's thrown error, sent as an `error` frame. */
export class FakeError extends Error {
  constructor(
    readonly code: string,
    message = code,
  ) {
    super(message);
  }
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

/** One socket the SDK opened. */
class FakeSocket implements SignalingSocket {
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  closed = false;

  constructor(
    private readonly server: FakeServer,
    readonly url: URL,
  ) {}

  send(text: string): void {
    if (this.closed) throw new Error('send on a closed socket');
    this.server.receive(this, JSON.parse(text) as ClientFrame);
  }

  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    this.closed = true;
    setTimeout(() => this.onclose?.({ code, reason }), 0);
  }

  /** Delivers a server frame. */
  deliver(frame: unknown): void {
    if (!this.closed) this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

/** The fake endpoint. */
export class FakeServer {
  /** Every socket opened, in order. */
  readonly sockets: FakeSocket[] = [];
  /** Every frame clients sent, in order. */
  readonly received: ClientFrame[] = [];
  /** Request answers by type; unscripted requests get `ok {}`. */
  readonly handlers = new Map<string, Handler>();
  /** Whether the next connection attempts succeed. */
  accepting = true;
  /** Whether a resume keeps the device (false: the grace ran out; a new device). */
  resumes = true;
  userId = 'me';
  /** How long after a connection its token expires (session:ready's tokenExpiresAt). */
  tokenTtlMs = 3_600_000;
  private devices = 0;
  private deviceId = '';
  private token = '';
  /** Frames sent in this session (session:ready not counted): what `received` should say. */
  sent = 0;
  private waiters: Array<{
    match: (f: ClientFrame) => boolean;
    resolve: (f: ClientFrame) => void;
  }> = [];

  /** The SocketFactory to give the SDK. */
  readonly socket: SocketFactory = (url) => {
    const s = new FakeSocket(this, new URL(url));
    this.sockets.push(s);
    setTimeout(() => this.open(s), 0);
    return s;
  };

  /** The socket the SDK uses now. */
  get current(): FakeSocket {
    return this.sockets[this.sockets.length - 1]!;
  }

  /** Answers requests of `type` with `handler`. */
  on(type: string, handler: Handler): this {
    this.handlers.set(type, handler);
    return this;
  }

  /** Sends a server event (`{type, data}`) to the device (held for its resume if it is away). */
  push(event: ServerEvent): void {
    this.reply(this.current, { type: event.type, data: event });
  }

  /** The network dies: the current socket closes as a drop does (1006). */
  drop(): void {
    this.current.close(1006, '');
  }

  /** The next frame of `type` the client sends (already sent, or still to come). */
  next(type: string, match: (f: ClientFrame) => boolean = () => true): Promise<ClientFrame> {
    const m = (f: ClientFrame) => f.type === type && match(f);
    const i = this.received.findIndex(m);
    if (i >= 0) return Promise.resolve(this.received.splice(i, 1)[0]!);
    return new Promise((resolve) => this.waiters.push({ match: m, resolve }));
  }

  /** Frames of `type` the client sent and no test took yet. */
  all(type: string): ClientFrame[] {
    return this.received.filter((f) => f.type === type);
  }

  /** Lets queued timers and promises run. */
  async settle(rounds = 5): Promise<void> {
    for (let i = 0; i < rounds; i++) await tick();
  }

  /** Accepts or refuses a socket, then says session:ready (resumed or not). */
  private open(s: FakeSocket): void {
    if (!this.accepting) {
      s.close(1006, '');
      return;
    }
    s.onopen?.();
    const resume = s.url.searchParams.get('resume');
    const resumed = resume !== null && resume === this.token && this.resumes;
    if (!resumed) {
      this.deviceId = `dev-${++this.devices}`;
      this.sent = 0;
      this.replay = [];
    }
    this.token = `token-${this.sockets.length}`;
    s.deliver({
      type: 'session:ready',
      data: {
        userId: this.userId,
        deviceId: this.deviceId,
        resumeToken: this.token,
        resumed,
        graceMs: 5000,
        tokenExpiresAt: Date.now() + this.tokenTtlMs,
      },
    });
    const missed = this.replay;
    this.replay = [];
    for (const f of missed) s.deliver(f);
  }

  /** Frames for a socket that had died: the resume delivers them (the server's replay). */
  private replay: unknown[] = [];

  /** A reply to send on a socket; kept for replay should the socket be dead. */
  private reply(s: FakeSocket, frame: unknown): void {
    this.sent++;
    if (s.closed || s !== this.current) this.replay.push(frame);
    else s.deliver(frame);
  }

  /** A frame from the client. */
  receive(s: FakeSocket, f: ClientFrame): void {
    const w = this.waiters.find((x) => x.match(f));
    if (w) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(f);
    } else {
      this.received.push(f);
    }
    if (f.requestId === undefined) return;
    const handler = this.handlers.get(f.type);
    void (async () => {
      try {
        const data = handler ? await handler(f.data) : {};
        if (data === undefined) return; // the handler answers later, or never
        this.reply(s, { type: 'ok', requestId: f.requestId, data });
      } catch (err) {
        const e = err instanceof FakeError ? err : new FakeError('internal');
        this.reply(s, {
          type: 'error',
          requestId: f.requestId,
          error: { code: e.code, message: e.message },
        });
      }
    })();
  }
}

/** A Signaling connection to `server`, retrying fast (no jitter) and timing out within 1 s. */
export function fakeSignaling(
  server: FakeServer,
  o: { policy?: ReconnectPolicy; timeoutMs?: number; token?: TokenSource } = {},
): Signaling {
  return new Signaling({
    wsUrl: 'ws://parley.test',
    token: o.token ?? (() => 'jwt'),
    clientType: 'web',
    socket: server.socket,
    reconnectPolicy: o.policy ?? new DefaultReconnectPolicy({ jitterMs: 0, baseDelayMs: 5 }),
    requestTimeoutMs: o.timeoutMs ?? 1_000,
    connectTimeoutMs: 1_000,
  });
}
