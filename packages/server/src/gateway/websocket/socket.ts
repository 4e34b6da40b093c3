import type { Socket } from 'node:net';
import { FrameReader, type FrameSink } from './frame-reader.ts';
import { PING_FRAME, closeFrame, pongFrame } from './frames.ts';

/** Where a WebSocket is in its life (the numbers the WebSocket API uses). */
export const WsState = { Open: 1, Closing: 2, Closed: 3 } as const;
export type WsState = (typeof WsState)[keyof typeof WsState];

/** What the socket's owner hears. */
export interface WsListener {
  /** A data message: a view of the bytes read, valid during the call only. */
  message(data: Buffer, binary: boolean): void;
  /**
   * A chunk read from the socket has been handed on in full (its messages, if any): what they
   * made can be written now, at once rather than at the end of the tick.
   */
  chunkRead(): void;
  pong(): void;
  /**
   * A ping or pong past the client's control-frame budget (see PING_BURST): not answered or
   * heeded. The owner counts it as it counts any message refused for its rate.
   */
  controlRefused(): void;
  /**
   * The link is over for its device, reported once: nothing more is read from it. As soon as
   * either side's close frame is out or in (`code`: the code of the first close frame, 1005 for
   * none), not when the TCP connection has ended, which may take the close timeout (30 s) when
   * the client neither reads nor answers; or when the TCP connection ended without a close
   * frame (1006).
   */
  closed(code: number): void;
  error(err: Error): void;
}

/** How long a closing socket waits for the client to end the connection before it is destroyed. */
const CLOSE_TIMEOUT_MS = 30_000;

/** A backlog above which a client's pings go unanswered: it does not read its pongs anyway. */
const PONG_BACKLOG = 64 * 1024;

/**
 * Control frames (pings and pongs) a client may send: `PING_BURST` at once, then
 * `PINGS_PER_SEC`. A keepalive pings every few seconds, and a pong answers each of our pings
 * (every 30 s); a pong of ours is a write syscall, so a client that pings in a loop must not get
 * one each. Frames past the budget are read and dropped, and reported (`controlRefused`): a
 * client that keeps on is a flood like any other.
 */
const PING_BURST = 10;
const PINGS_PER_SEC = 2;

const WS = Symbol('ws');
interface CarryingSocket extends Socket {
  [WS]: WsSocket;
}

/*
 * One set of listeners for every socket (`this` is the TCP socket), not closures per connection:
 * an idle connection's cost is mostly what it allocates once and keeps.
 */
function onData(this: Socket, chunk: Buffer): void {
  (this as CarryingSocket)[WS].read(chunk);
}
function onEnd(this: Socket): void {
  (this as CarryingSocket)[WS].peerEnded();
}
function onClose(this: Socket): void {
  (this as CarryingSocket)[WS].socketClosed();
}
function onError(this: Socket, err: Error): void {
  (this as CarryingSocket)[WS].socketError(err);
}

/**
 * The server's end of a WebSocket (RFC 6455) over an upgraded TCP socket: reads the client's
 * frames, answers pings, runs the closing handshake, and leaves every data frame it sends to
 * the caller, who writes whole frames (`wsFrame`) to `socket` itself. Parley's own rather than
 * `ws`'s because the relay spends most of its time per message in this layer: a frame read
 * here goes from the socket's chunk to the listener without a stream or an event in between.
 */
export class WsSocket implements FrameSink {
  state: WsState = WsState.Open;
  readonly reader: FrameReader;
  private listener: WsListener | null = null;
  /** What `closed` reports when the connection ends first: the client's code if it sent one. */
  private closeCode = 1006;
  /** `closed` has been reported, or is due when the socket starts (`closedEarly`: its code). */
  private reported = false;
  private closedEarly = 0;
  private closeSent = false;
  private closeReceived = false;
  private closeTimer: NodeJS.Timeout | null = null;
  /** The client's control-frame budget (see PING_BURST) and when it was last topped up. */
  private pingTokens = PING_BURST;
  private pingsAt = 0;

  constructor(
    readonly socket: Socket,
    maxPayload: number,
    private readonly closeTimeoutMs = CLOSE_TIMEOUT_MS,
  ) {
    this.reader = new FrameReader(maxPayload, this);
  }

  /** Starts reading, with `head` (bytes that came with the upgrade request) first. */
  start(listener: WsListener, head: Buffer): void {
    this.listener = listener;
    const socket = this.socket as CarryingSocket;
    socket[WS] = this;
    socket.setNoDelay(true);
    socket.setTimeout(0);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onClose);
    socket.on('error', onError);
    if (this.closedEarly !== 0) listener.closed(this.closedEarly);
    else if (head.length > 0) this.read(head);
  }

  /** One chunk from the socket: its frames, then the end of the chunk. */
  read(chunk: Buffer): void {
    try {
      this.reader.push(chunk);
    } finally {
      this.listener!.chunkRead();
    }
  }

  /** Bytes written to the socket that the kernel has not taken yet. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  ping(): void {
    if (this.state === WsState.Open) this.socket.write(PING_FRAME);
  }

  /**
   * Starts the closing handshake: the close frame goes out after everything written before
   * it, and the TCP connection ends when the client answers; it is destroyed if it has not
   * closed within the close timeout (30 s).
   */
  close(code: number, reason = ''): void {
    // Closed, or the client ended the connection and our side is ending too: nothing to send.
    if (this.state === WsState.Closed || this.socket.writableEnded) return;
    if (this.closeSent) {
      if (this.closeReceived) this.socket.end();
      return;
    }
    this.closeSent = true;
    this.state = WsState.Closing;
    this.socket.write(closeFrame(code, reason));
    if (this.closeReceived) this.socket.end();
    // Bounded either way: a client may neither answer our close frame nor end its side.
    this.closeTimer = setTimeout(() => this.socket.destroy(), this.closeTimeoutMs);
    // The device is gone now, not when the client gets round to ending the connection: until
    // then, nothing sent to it would arrive, nor anything it sends be read.
    this.report(code);
  }

  private report(code: number): void {
    if (this.reported) return;
    this.reported = true;
    // Closed before it started (the replay of a resumed session can pass the buffer cap):
    // `start` reports it.
    if (this.listener) this.listener.closed(code);
    else this.closedEarly = code;
  }

  /** Drops the connection without a closing handshake. */
  terminate(): void {
    this.socket.destroy();
  }

  // ---- FrameSink: what the reader found

  message(data: Buffer, binary: boolean): void {
    // After our close frame, the client's data is not read (RFC 6455 §5.5.1 lets it come).
    if (this.state === WsState.Open) this.listener!.message(data, binary);
  }

  pinged(data: Buffer): void {
    if (this.state !== WsState.Open || !this.controlAllowed()) return;
    if (this.socket.writableLength < PONG_BACKLOG) this.socket.write(pongFrame(data));
  }

  ponged(): void {
    if (this.state === WsState.Open && this.controlAllowed()) this.listener!.pong();
  }

  /** Takes a control frame from the client's budget; false (and reported) past it. */
  private controlAllowed(): boolean {
    const now = Date.now();
    this.pingTokens = Math.min(
      PING_BURST,
      this.pingTokens + ((now - this.pingsAt) / 1000) * PINGS_PER_SEC,
    );
    this.pingsAt = now;
    if (this.pingTokens >= 1) {
      this.pingTokens -= 1;
      return true;
    }
    this.listener!.controlRefused();
    return false;
  }

  closeFrame(code: number, reason: string): void {
    this.closeReceived = true;
    this.closeCode = code;
    // Echo the client's code (none when it named none), then end: it spoke last.
    this.close(code, reason);
  }

  fail(code: number, reason: string): void {
    // As if the client had closed: our close frame names the breach, then the connection ends.
    this.closeReceived = true;
    this.close(code, reason);
  }

  // ---- the TCP socket

  peerEnded(): void {
    this.state = WsState.Closing;
    this.socket.end();
  }

  socketClosed(): void {
    this.state = WsState.Closed;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.report(this.closeCode);
  }

  socketError(err: Error): void {
    this.listener!.error(err);
    this.socket.destroy();
  }
}
