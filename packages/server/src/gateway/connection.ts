import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { AppError, type ServerEvent } from '@parley/protocol';
import type { Sender } from '../calls/index.ts';
import type { Config } from '../config/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';
import type { Decoded, Dialect, WireFrame } from './dialect.ts';
import { ByteBudget } from './byte-budget.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { RateCounter } from './rate-limit.ts';
import { asAppError } from '../store/index.ts';

/** WebSocket close codes Parley uses (documented in docs/protocol.md). */
export const CloseCode = {
  /** Server shutting down. */
  GoingAway: 1001,
  /** Frame larger than the hard cap: the socket cannot safely continue. */
  TooBig: 1009,
  /** Sustained flood: too many rate-limited messages within the flood window. */
  Flood: 4029,
  /** No pong within the heartbeat timeout. */
  HeartbeatTimeout: 4008,
  /** A resumable session moved to another socket, or expired. */
  SessionMoved: 4000,
  /** Cluster: the node was taken for dead and dropped its calls; connect again. */
  Fenced: 1012,
} as const;

/** What a connection needs from the node. */
export interface ConnectionOptions {
  ws: WebSocket;
  /** The upgraded TCP socket under `ws`; when given, frames sent in one tick share one write. */
  socket?: Duplex;
  sender: Sender;
  dialect: Dialect;
  limits: Config['limits'];
  rate: RateCounter;
  dispatcher: Dispatcher;
  metrics: Metrics;
  log: Logger;
  /** Takes every frame for the socket instead (a resumable session logs, then writes them). */
  output?: (frame: WireFrame) => void;
}

/**
 * One device's socket: frame size and rate checks, decode through its dialect, dispatch, and
 * encoding of everything sent back. A bad frame gets an error in the dialect; the socket stays.
 */
export class Connection {
  readonly sender: Sender;
  readonly dialect: Dialect;
  /** Last time the peer showed it is alive (message or pong), epoch ms. */
  lastSeen = Date.now();
  private strikes = 0;
  private strikeWindowStart = 0;
  private corked = false;
  /** Bytes of big chat frames this connection may still send (made on its first one). */
  private bigFrames: ByteBudget | null = null;
  private readonly log: Logger;
  /** Bytes are sent as text unless the dialect speaks binary (a JSON frame may be bytes). */
  private readonly sendOptions: { binary: boolean };

  constructor(private readonly o: ConnectionOptions) {
    this.sender = o.sender;
    this.dialect = o.dialect;
    this.log = o.log;
    this.sendOptions = { binary: o.dialect.binary === true };
    o.ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    o.ws.on('pong', () => (this.lastSeen = Date.now()));
    o.ws.on('error', (err) => this.log.debug({ event: 'ws_error', err }, 'socket error'));
  }

  /** Encodes and sends an event, if this dialect shows it. */
  sendEvent(event: ServerEvent): void {
    const frame = this.dialect.encodeEvent(event, this.sender);
    if (frame !== null) this.send(frame);
  }

  /** Whether the socket can still send. */
  get open(): boolean {
    return this.o.ws.readyState === WebSocket.OPEN;
  }

  send(frame: WireFrame): void {
    if (this.o.output) this.o.output(frame);
    else this.write(frame);
  }

  /** Writes a frame to the socket if it is open (bypassing `output`). */
  write(frame: WireFrame): void {
    if (this.o.ws.readyState !== WebSocket.OPEN) return;
    this.cork();
    this.o.ws.send(frame, this.sendOptions);
  }

  /**
   * Holds this tick's frames (a relayed ICE burst, an event and its ack) for one write at the
   * end of the tick: a syscall per frame is the largest cost of relaying. Order is unchanged.
   */
  private cork(): void {
    if (this.corked || !this.o.socket) return;
    this.corked = true;
    this.o.socket.cork();
    process.nextTick(this.uncork);
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.o.socket?.uncork();
  };

  close(code: number, reason: string): void {
    this.o.ws.close(code, reason);
  }

  terminate(): void {
    this.o.ws.terminate();
  }

  /** Pings the peer, or drops it when it has been silent past `timeoutMs`. */
  heartbeat(now: number, timeoutMs: number): void {
    if (now - this.lastSeen > timeoutMs) {
      this.log.info({ event: 'heartbeat_timeout', deviceId: this.sender.deviceId }, 'no pong');
      this.terminate();
    } else if (this.o.ws.readyState === WebSocket.OPEN) {
      this.o.ws.ping();
    }
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.lastSeen = Date.now();
    const { limits } = this.o;
    if (data.length > limits.maxFrameBytes && !this.bigFrame(data, isBinary)) return;
    if (!this.o.rate.take(this.sender.userId)) {
      this.o.metrics.rateLimited.inc();
      if (this.strike()) return;
      this.refuse(AppError.rateLimited(), data, isBinary);
      return;
    }
    const decoded = this.dialect.decode(data, isBinary, this.sender);
    if (!decoded.ok) {
      this.fail(decoded.error, decoded.requestId, decoded.context);
      return;
    }
    // Errors name the request as the dialect does (the ROOM cmd), else the command type.
    const context = decoded.context ?? decoded.command.type;
    try {
      const result = this.o.dispatcher.run(this.sender, decoded.command);
      if (result instanceof Promise) {
        // Last resort: whatever the handler or the reply's encoding throws is answered by the
        // request's id, never left as an unhandled rejection (which would end the process).
        result
          .then((r: unknown) => this.reply(decoded, r))
          .catch((err: unknown) => this.fail(err, decoded.requestId, context))
          .catch((err: unknown) =>
            this.log.error({ event: 'answer_failed', err, context }, 'could not answer'),
          );
      } else {
        this.reply(decoded, result);
      }
    } catch (err) {
      this.fail(err, decoded.requestId, context);
    }
  }

  private reply(decoded: Extract<Decoded, { ok: true }>, result: unknown): void {
    const frame = this.dialect.encodeResult(decoded, result, this.sender);
    if (frame !== null) this.send(frame);
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
    const now = Date.now();
    if (now - this.strikeWindowStart > this.o.limits.floodWindowMs) {
      this.strikeWindowStart = now;
      this.strikes = 0;
    }
    if (++this.strikes < this.o.limits.floodStrikes) return false;
    this.log.warn({ event: 'flood_closed', userId: this.sender.userId }, 'closing flooding socket');
    this.close(CloseCode.Flood, 'rate limit exceeded');
    return true;
  }

  private fail(err: unknown, requestId?: string, context?: string): void {
    const error = asAppError(err);
    if (error.code === 'internal') {
      this.log.error({ event: 'handler_failed', err, context }, 'unexpected error');
    }
    this.o.metrics.errors.labels(error.code).inc();
    this.send(this.dialect.encodeError(error.toBody(), requestId, context));
  }
}
