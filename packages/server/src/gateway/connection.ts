import { AppError, type ServerEvent } from '@parley/protocol';
import type { Authenticator, TokenRef } from '../auth/index.ts';
import { frameHandled, handlingFrame, type Sender } from '../core/index.ts';
import type { Config } from '../config/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';
import type { Decoded, Dialect, WireFrame } from './dialect.ts';
import { ByteBudget } from './byte-budget.ts';
import { wsFrame } from './websocket/frames.ts';
import { WsState, type WsListener, type WsSocket } from './websocket/socket.ts';
import { pingDue, type HeartbeatTimes } from './heartbeat.ts';
import { ReplyOrder } from './reply-order.ts';
import { FloodStrikes } from './flood.ts';
import type { Dispatcher } from './dispatcher.ts';
import { rateClassOf, type RateCounter } from './rate-limit.ts';
import { asAppError } from '../store/index.ts';
import { withRefresh } from './credentials.ts';

/** WebSocket close codes Parley uses (documented in docs/protocol.md). */
export const CloseCode = {
  /** Server shutting down. */
  GoingAway: 1001,
  /** The connection's token was revoked (`/api/admin/revocations`). */
  TokenRevoked: 4011,
  /** An administrator disconnected the device (`/api/admin/users/:userId/devices/:id/disconnect`). */
  Kicked: 4012,
  /** Frame larger than the hard cap: the socket cannot safely continue. */
  TooBig: 1009,
  /** Sustained flood: too many rate-limited messages within the flood window. */
  Flood: 4029,
  /** No pong within the heartbeat timeout. */
  HeartbeatTimeout: 4008,
  /** The connection's token expired (and was not refreshed with `auth:refresh`). */
  TokenExpired: 4001,
  /** A resumable session moved to another socket, or expired. */
  SessionMoved: 4000,
  /** Cluster: the node was taken for dead and dropped its calls; connect again. */
  Fenced: 1012,
  /** The client does not read: its queue passed the cap, or did not drain in time. */
  SlowConsumer: 4013,
} as const;

/**
 * A backlog below this is normal traffic in flight; one that stays above it for the write
 * timeout is a client that does not read.
 */
const STALL_BYTES = 64 * 1024;

/**
 * Connections with frames held back, so that each gets one write for all the frames one piece
 * of work made for it (a relayed ICE burst, an event and its ack). The work is the read of a
 * chunk from a socket, flushed as the chunk is done (`chunkRead`); anything else (a timer, a
 * store's answer) is flushed by one `nextTick` for all of them (not one callback per
 * connection and tick).
 */
const held: Connection[] = [];
let flushScheduled = false;
/**
 * A socket's chunk is being read: its frames are flushed when it is done, without a tick.
 * Flushing there rather than at the end of the tick matters at realistic loads, one message
 * per wake-up: the sooner the frame is written, the cheaper the write (see the README).
 */
let reading = false;
function flushHeld(): void {
  flushScheduled = false;
  // A flush does not hold more frames (it only writes), so the list cannot grow meanwhile.
  for (let i = 0; i < held.length; i++) held[i]!.flush();
  held.length = 0;
}

/** How long a connection closed for a flood may take to send the answers it still owes. */
const FLUSH_MS = 5000;

/** What a connection needs from the node. */
export interface ConnectionOptions {
  ws: WsSocket;
  /** What the socket's end means for the device (the gateway's part). */
  onClosed: (conn: Connection, code: number) => void;
  sender: Sender;
  /** When the token the connection was opened with expires (epoch ms). */
  expiresAt: number;
  /** The token it was opened with, as revocations name tokens. */
  credential: TokenRef;
  /** Verifies the tokens of `auth:refresh`. */
  auth: Authenticator;
  dialect: Dialect;
  limits: Config['limits'];
  connections: Pick<Config['connections'], 'maxBufferedBytes' | 'writeTimeoutMs'>;
  rate: RateCounter;
  dispatcher: Dispatcher;
  metrics: Metrics;
  /** The gateway's logger: lines about the connection name its user and device themselves. */
  log: Logger;
  /** Takes every frame for the socket instead (a resumable session logs, then writes them). */
  output?: (frame: WireFrame) => void;
}

/**
 * One device's socket: frame size and rate checks, decode through its dialect, dispatch, and
 * encoding of everything sent back. A bad frame gets an error in the dialect; the socket stays.
 */
export class Connection implements WsListener {
  readonly sender: Sender;
  readonly dialect: Dialect;
  /** Last time the peer showed it is alive (message or pong), epoch ms. */
  lastSeen = Date.now();
  /** When the last ping was sent (epoch ms; 0: none yet). */
  private pingedAt = 0;
  /**
   * What the ping interval counts from (epoch ms): the last ping, or before the first a random
   * point up to one interval before the first heartbeat tick (-1: not drawn yet). Sockets
   * opened together (a node's restart, a benchmark's clients) are then pinged spread over the
   * interval, not all in one sweep every interval: a burst of writes and pongs that holds up
   * relaying (it was Parley's worst p99 in `parley bench`).
   */
  private pingFrom = -1;
  /** When the connection's token expires (epoch ms); `auth:refresh` moves it. */
  expiresAt: number;
  /** The tokens the connection stands on: the opening one, then `auth:refresh`'s (bounded). */
  credentials: readonly TokenRef[];
  /** Made on the first refusal: most connections never see one. */
  private flood: FloodStrikes | null = null;
  /** Closing for a flood: the answers owed are being flushed, nothing more is read. */
  private flooded = false;
  /** This tick's frames, written at its end (see `write`): the first, and any after it. */
  private heldFirst: Buffer | null = null;
  private heldMore: Buffer[] | null = null;
  /** Their bytes: not in the socket's buffer yet, but owed to the client all the same. */
  private heldBytes = 0;
  /** Bytes of big chat frames this connection may still send (made on its first one). */
  private bigFrames: ByteBudget | null = null;
  /** Since when the socket's backlog has stayed above STALL_BYTES (0: it has not). */
  private backlogSince = 0;
  /** The gateway's logger (see `who()` for the fields that name this connection). */
  readonly logger: Logger;
  /** Keeps answers in request order; made on the first request answered asynchronously. */
  private replies: ReplyOrder<WireFrame | null> | null = null;

  constructor(private readonly o: ConnectionOptions) {
    this.sender = o.sender;
    this.expiresAt = o.expiresAt;
    this.credentials = [o.credential];
    this.dialect = o.dialect;
    this.logger = o.log;
  }

  // ---- WsListener: what the socket hears

  pong(): void {
    this.lastSeen = Date.now();
  }

  chunkRead(): void {
    reading = false;
    if (held.length > 0) flushHeld();
  }

  controlRefused(): void {
    if (this.flooded) return;
    this.o.metrics.rateLimited.inc();
    this.strike();
  }

  closed(code: number): void {
    this.o.onClosed(this, code);
  }

  error(err: Error): void {
    this.logger.debug({ ...this.who(), event: 'ws_error', err }, 'socket error');
  }

  /** The fields that name this connection in a log line (made only when a line is written). */
  who(): { userId: string; deviceId: string; dialect: string } {
    const { userId, deviceId } = this.sender;
    return { userId, deviceId, dialect: this.dialect.name };
  }

  /** Encodes and sends an event, if this dialect shows it. */
  sendEvent(event: ServerEvent): void {
    const frame = this.dialect.encodeEvent(event, this.sender);
    if (frame !== null) this.send(frame);
  }

  /** Whether the socket can still send. */
  get open(): boolean {
    return this.o.ws.state === WsState.Open;
  }

  send(frame: WireFrame): void {
    if (this.o.output) this.o.output(frame);
    else this.write(frame);
  }

  /**
   * Writes a frame to the socket if it is open (bypassing `output`). A client that lets more
   * than `maxBufferedBytes` pile up is not reading: the frame is dropped (a resumable session
   * still has it for replay) and the socket closed, so its queue cannot grow any further.
   */
  write(frame: WireFrame): void {
    const { ws } = this.o;
    if (ws.state !== WsState.Open) return;
    if (ws.bufferedAmount + this.heldBytes > this.o.connections.maxBufferedBytes) {
      this.slowConsumer('overflow');
      return;
    }
    // Bytes are sent as text unless the dialect speaks binary (a JSON frame may be bytes).
    const bytes = wsFrame(frame, this.dialect.binary === true);
    this.heldBytes += bytes.length;
    if (this.heldFirst === null) {
      this.heldFirst = bytes;
      held.push(this);
      if (!flushScheduled && !reading) {
        flushScheduled = true;
        process.nextTick(flushHeld);
      }
    } else (this.heldMore ??= []).push(bytes);
  }

  /**
   * The end of a chunk's read (or of the tick): the frames held go out in one write (a relayed
   * ICE burst, an event and its ack), since a syscall per frame is the largest cost of
   * relaying. A lone frame, the usual case at a realistic load, is written as it is: no copy,
   * no cork, no writev.
   */
  flush(): void {
    const first = this.heldFirst;
    const more = this.heldMore;
    this.heldFirst = this.heldMore = null;
    this.heldBytes = 0;
    // Closed meanwhile: the close frame is out, nothing may follow it.
    if (first === null || this.o.ws.state !== WsState.Open) return;
    this.o.ws.socket.write(more === null ? first : Buffer.concat([first, ...more]));
  }

  /**
   * Closes a socket whose client does not read. The close frame waits behind the backlog;
   * the socket is destroyed if the client does not complete the close within 30 s.
   */
  private slowConsumer(reason: 'overflow' | 'stalled'): void {
    this.o.metrics.slowConsumers.labels(reason).inc();
    this.logger.warn(
      { ...this.who(), event: 'slow_consumer', reason, buffered: this.o.ws.bufferedAmount },
      'closing a socket whose client does not read',
    );
    this.close(CloseCode.SlowConsumer, `slow consumer (${reason})`);
  }

  /** Closes after the frames already sent in this tick (the close frame must be the last). */
  close(code: number, reason: string): void {
    this.flush();
    this.o.ws.close(code, reason);
  }

  /** Closes with `code`; the gateway ends the device when it sees it (see `watchClose`). */
  kick(code: number, reason: string): void {
    this.close(code, reason);
  }

  terminate(): void {
    this.o.ws.terminate();
  }

  /**
   * One heartbeat tick: drops the peer when its last ping went unanswered (no pong, no message)
   * for `timeoutMs`, pings it every `intervalMs`, or closes it when its backlog has not drained
   * for `writeTimeoutMs` (a client that sends but never reads stays "alive" by its messages).
   */
  heartbeat(now: number, beat: HeartbeatTimes): void {
    if (this.pingFrom < 0) this.pingFrom = now - Math.random() * beat.intervalMs;
    // A ping is outstanding until a pong or any message comes after it.
    const waiting = this.pingedAt > this.lastSeen;
    if (waiting && now - this.pingedAt >= beat.timeoutMs) {
      this.logger.info({ ...this.who(), event: 'heartbeat_timeout' }, 'no pong');
      this.terminate();
    } else if (now >= this.expiresAt) {
      this.tokenExpired();
    } else if (this.o.ws.state === WsState.Open) {
      if (this.stalled(now)) this.slowConsumer('stalled');
      else if (!waiting && pingDue(now, this.pingFrom, beat)) {
        this.pingedAt = this.pingFrom = now;
        this.o.ws.ping();
      }
    }
  }

  private stalled(now: number): boolean {
    if (this.o.ws.bufferedAmount < STALL_BYTES) {
      this.backlogSince = 0;
      return false;
    }
    if (this.backlogSince === 0) this.backlogSince = now;
    return now - this.backlogSince >= this.o.connections.writeTimeoutMs;
  }

  /** Closes the connection whose token expired; a resumable device may resume with a new one. */
  private tokenExpired(): void {
    this.logger.info({ ...this.who(), event: 'token_expired' }, 'token expired');
    this.close(CloseCode.TokenExpired, 'token expired');
  }

  /** `auth:refresh`: a valid token of the same user moves the connection's deadline. */
  private async refresh(
    decoded: Extract<Decoded, { ok: true }>,
    token: string,
  ): Promise<WireFrame | null> {
    try {
      const identity = await this.o.auth.verify(token);
      if (identity.userId !== this.sender.userId) {
        throw AppError.forbidden('the token is for another user');
      }
      this.expiresAt = Math.max(this.expiresAt, identity.expiresAt);
      this.credentials = withRefresh(this.credentials, identity);
      return this.dialect.encodeResult(decoded, { expiresAt: this.expiresAt }, this.sender);
    } catch (err) {
      return this.errorFrame(err, decoded.requestId, 'auth:refresh');
    }
  }

  /** A frame from the client: a view of the bytes read, not kept past this call. */
  message(data: Buffer, isBinary: boolean): void {
    if (this.flooded) return;
    reading = true;
    const now = Date.now();
    // What handles the frame reads this time (`frameClock`), not the clock again.
    handlingFrame(now);
    try {
      this.handle(data, isBinary, now);
    } finally {
      frameHandled();
    }
  }

  private handle(data: Buffer, isBinary: boolean, now: number): void {
    this.lastSeen = now;
    if (now >= this.expiresAt) {
      this.tokenExpired();
      return;
    }
    const { limits } = this.o;
    if (data.length > limits.maxFrameBytes && !this.bigFrame(data, isBinary)) return;
    // Decoded before the rate check: the budget depends on what the message is, and a refusal
    // names the request it refuses. The frame is bounded above, and a flood is closed (4029).
    const decoded = this.dialect.decode(data, isBinary, this.sender);
    const cls = decoded.ok ? rateClassOf(decoded.command.type) : 'setup';
    if (!this.o.rate.take(this.sender.userId, cls)) {
      this.o.metrics.rateLimited.inc();
      if (!this.strike()) this.fail(AppError.rateLimited(), decoded.requestId, decoded.context);
      return;
    }
    if (!decoded.ok) {
      this.fail(decoded.error, decoded.requestId, decoded.context);
      return;
    }
    if (decoded.command.type === 'auth:refresh') {
      this.answerLater(this.refresh(decoded, decoded.command.token));
      return;
    }
    // Errors name the request as the dialect does (the ROOM cmd), else the command type.
    const context = decoded.context ?? decoded.command.type;
    try {
      const result = this.o.dispatcher.run(this.sender, decoded.command);
      if (result instanceof Promise) {
        // Last resort: whatever the handler or the reply's encoding throws is answered by the
        // request's id, never left as an unhandled rejection (which would end the process).
        this.answerLater(
          result
            .then((r: unknown) => this.dialect.encodeResult(decoded, r, this.sender))
            .catch((err: unknown) => this.errorFrame(err, decoded.requestId, context)),
        );
      } else {
        this.reply(decoded, result);
      }
    } catch (err) {
      this.fail(err, decoded.requestId, context);
    }
  }

  private reply(decoded: Extract<Decoded, { ok: true }>, result: unknown): void {
    this.answer(this.dialect.encodeResult(decoded, result, this.sender));
  }

  /**
   * Sends an answer, after the answers to earlier requests that are still being worked out: a
   * quick answer (a decode error, a synchronous result) must not overtake them.
   */
  private answer(frame: WireFrame | null): void {
    if (frame === null) return;
    if (this.replies?.pending) this.replies.send(frame);
    else this.send(frame);
  }

  /** Sends an answer that is still being worked out, in its request's turn. */
  private answerLater(frame: Promise<WireFrame | null>): void {
    this.replies ??= new ReplyOrder(
      (f) => {
        if (f !== null) this.send(f);
      },
      (err) =>
        this.logger.error({ ...this.who(), event: 'answer_failed', err }, 'could not answer'),
    );
    this.replies.sendLater(frame);
  }

  /**
   * A frame above the ordinary cap: only a binary chat frame (a file, an inline avatar) may be,
   * up to maxChatFrameBytes and within the connection's byte budget. False once refused.
   */
  private bigFrame(data: Buffer, isBinary: boolean): boolean {
    const { limits } = this.o;
    const size = data.length;
    const limit = this.dialect.binary && isBinary ? limits.maxChatFrameBytes : limits.maxFrameBytes;
    if (size > limit) {
      this.refuse(AppError.frameTooLarge(size, limit), data, isBinary);
      return false;
    }
    // The burst holds two seconds' worth, and always at least one frame of the largest size.
    this.bigFrames ??= new ByteBudget(
      limits.chatBytesPerSec,
      Math.max(2 * limits.chatBytesPerSec, limits.maxChatFrameBytes),
    );
    if (this.bigFrames.take(size)) return true;
    this.o.metrics.rateLimited.inc();
    if (!this.strike()) this.refuse(AppError.rateLimited(), data, isBinary);
    return false;
  }

  /** Answers a frame refused unread, naming its request as far as the dialect can peek. */
  private refuse(error: AppError, data: Buffer, isBinary: boolean): void {
    const seen = this.dialect.peek?.(data, isBinary);
    this.fail(error, seen?.requestId, seen?.context);
  }

  /** Counts a rate-limited message; closes the socket on a sustained flood. */
  private strike(): boolean {
    if (!(this.flood ??= new FloodStrikes(this.o.limits)).strike(Date.now())) return false;
    if (this.flooded) return true;
    this.flooded = true;
    this.logger.warn({ ...this.who(), event: 'flood_closed' }, 'closing flooding socket');
    // The answers already owed go out first (in request order), for at most FLUSH_MS; nothing
    // the client sends from now on is read.
    const close = () => this.close(CloseCode.Flood, 'rate limit exceeded');
    if (this.replies?.pending) void this.replies.idle(FLUSH_MS).then(close);
    else close();
    return true;
  }

  private fail(err: unknown, requestId?: string, context?: string): void {
    this.answer(this.errorFrame(err, requestId, context));
  }

  /** The error answer, counted (and logged when unforeseen). */
  private errorFrame(err: unknown, requestId?: string, context?: string): WireFrame {
    const error = asAppError(err);
    if (error.code === 'internal') {
      this.logger.error(
        { ...this.who(), event: 'handler_failed', err, context },
        'unexpected error',
      );
    }
    this.o.metrics.errors.labels(error.code).inc();
    return this.dialect.encodeError(error.toBody(), requestId, context);
  }
}
