import type { HeartbeatTimes } from './heartbeat.ts';
import { randomBytes } from 'node:crypto';
import type { ServerEvent } from '@parley/protocol';
import type { TokenRef } from '../auth/index.ts';
import type { Sender } from '../core/index.ts';
import { CloseCode, type Connection } from './connection.ts';
import type { Dialect, WireFrame } from './dialect.ts';
import type { DeviceConnection } from './hub.ts';

/**
 * A parked session leaving this node for the node where its device came back (cluster mode):
 * who the device is, and the frames the client has yet to receive, numbered as before.
 */
export interface SessionHandoff {
  sender: Sender;
  /** The dialect's name: a session resumes on the endpoint of its own dialect only. */
  dialect: string;
  /** Frames sent to the device so far. */
  sent: number;
  /** The frames after the `from` first, which the client has not received. */
  from: number;
  frames: WireFrame[];
}

/** What the session registry needs. */
export interface SessionOptions {
  /** This node: resume tokens start with it, so that another node knows where to ask. */
  nodeId: string;
  /** How long a dropped device waits for its resume (calls.disconnectGraceMs). */
  graceMs: number;
  /**
   * Frames kept for replay: the last ones sent to the device. A device that misses more than
   * this (while away, or unacknowledged on resume) cannot resume.
   */
  replayFrames: number;
  /** Bytes of frames kept for replay at most (frames are counted as their length). */
  replayBytes: number;
  /** The device is gone for good: its grace ran out, or it missed too much. */
  onExpire: (session: Session) => void;
}

/**
 * A resumable device: one deviceId that outlives its sockets. The hub holds the session, not a
 * socket. Every frame for the device (events, replies, errors) is numbered and kept in a short
 * replay log; a resume says how many it received (`?received=`) and gets the rest, so nothing
 * written into a socket that was already dead is lost.
 */
export class Session implements DeviceConnection {
  /** The current resume token (rotated by every attach). */
  token = '';
  private conn: Connection | null = null;
  /** The last frames sent to the device; `log[i]` has number `sent - log.length + i + 1`. */
  private log: WireFrame[] = [];
  /** The length of the frames in `log`. */
  private logBytes = 0;
  /** Frames sent to the device so far (session:ready frames are not counted). */
  private sent = 0;
  /** `sent` when the last socket dropped. */
  private sentAtDrop = 0;
  private timer: NodeJS.Timeout | null = null;
  private expired = false;
  private lastCredentials: readonly TokenRef[];

  constructor(
    readonly sender: Sender,
    readonly dialect: Dialect,
    private readonly o: SessionOptions,
    private readonly registry: SessionRegistry,
  ) {
    this.lastCredentials = [{ userId: sender.userId, issuedAt: 0 }];
  }

  /**
   * Whether a resume that received `received` frames (undefined: all that were written before
   * the drop) can continue without a gap.
   */
  canReplay(received: number | undefined): boolean {
    const from = received ?? this.sentAtDrop;
    return from <= this.sent && from >= this.sent - this.log.length;
  }

  /**
   * Makes `conn` the device's socket (a new device, a resume, or a take-over from a socket the
   * server has not yet seen drop, which is closed). Writes session:ready, then replays every
   * frame after the `received` first (see canReplay).
   */
  attach(conn: Connection, resumed: boolean, received?: number): void {
    const previous = this.conn;
    if (previous) this.sentAtDrop = this.sent;
    this.conn = conn;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    previous?.close(CloseCode.SessionMoved, 'session resumed on another connection');
    this.registry.rotate(this);
    const ready = this.dialect.encodeSession?.({
      userId: this.sender.userId,
      deviceId: this.sender.deviceId,
      resumeToken: this.token,
      resumed,
      graceMs: this.o.graceMs,
      tokenExpiresAt: conn.expiresAt,
    });
    if (ready !== undefined) conn.write(ready);
    for (const frame of this.missed(received)) conn.write(frame);
  }

  /** The frames after the `received` first (default: those written before the drop). */
  private missed(received: number | undefined): WireFrame[] {
    const from = received ?? this.sentAtDrop;
    return this.log.slice(this.log.length - (this.sent - from));
  }

  /** Stops keeping anything and closes the socket: the token no longer resumes the device. */
  private end(reason: string): void {
    this.expired = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.log = [];
    this.logBytes = 0;
    this.registry.forget(this);
    this.conn?.close(CloseCode.SessionMoved, reason);
    this.conn = null;
  }

  /**
   * `conn`'s socket closed. If it still carried the device, the device waits for a resume for
   * the grace period. Returns whether it does.
   */
  detach(conn: Connection): boolean {
    if (this.conn !== conn || this.expired) return false;
    this.lastCredentials = conn.credentials;
    this.conn = null;
    this.sentAtDrop = this.sent;
    this.timer = setTimeout(() => this.expire(), this.o.graceMs);
    this.timer.unref();
    return true;
  }

  /**
   * Gives the session up to another node, which resumes it: what the client missed from
   * `received` on (see canReplay) goes with it, and nothing here treats the device as gone.
   */
  handOff(received: number | undefined): SessionHandoff {
    const handoff = {
      sender: this.sender,
      dialect: this.dialect.name,
      sent: this.sent,
      from: received ?? this.sentAtDrop,
      frames: this.missed(received),
    };
    this.end('session resumed on another node');
    return handoff;
  }

  /** Takes over a session handed off by another node; it waits for its socket as if parked. */
  adopted(h: SessionHandoff): void {
    this.sent = h.sent;
    this.sentAtDrop = h.from;
    this.log = h.frames;
    this.logBytes = h.frames.reduce((n, f) => n + f.length, 0);
    this.timer = setTimeout(() => this.expire(), this.o.graceMs);
    this.timer.unref();
  }

  /** `conn`'s client closed on purpose: if it carried the device, the device is gone now. */
  leave(conn: Connection): void {
    if (this.conn === conn) this.expire();
  }

  /**
   * Every frame for the device: numbered, kept for replay (the last `replayFrames`, at most
   * `replayBytes`), written when a socket carries it. A parked device that would miss a frame
   * no longer kept cannot resume: it expires.
   */
  output(frame: WireFrame): void {
    if (this.expired) return;
    this.sent++;
    this.log.push(frame);
    this.logBytes += frame.length;
    while (this.log.length > this.o.replayFrames || this.logBytes > this.o.replayBytes) {
      // The oldest frame kept is number sent - log.length + 1.
      if (!this.conn && this.sent - this.log.length + 1 > this.sentAtDrop) {
        this.expire();
        return;
      }
      this.logBytes -= this.log.shift()!.length;
    }
    this.conn?.write(frame);
  }

  sendEvent(event: ServerEvent): void {
    const frame = this.dialect.encodeEvent(event, this.sender);
    if (frame !== null) this.output(frame);
  }

  /** Closes the socket for good (server shutdown): the device will not wait for a resume. */
  close(code: number, reason: string): void {
    this.expired = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.registry.forget(this);
    this.conn?.close(code, reason);
  }

  heartbeat(now: number, beat: HeartbeatTimes): void {
    this.conn?.heartbeat(now, beat);
  }

  /** The current socket's tokens; while parked, the last socket's (unknown after a hand-off). */
  get credentials(): readonly TokenRef[] {
    if (this.conn) this.lastCredentials = this.conn.credentials;
    return this.lastCredentials;
  }

  /** Closes the socket with `code` and ends the device now: the token resumes nothing. */
  kick(code: number, reason: string): void {
    // Ended first, so that the socket's close (reported as the close frame leaves) finds the
    // device gone rather than parking it for a resume; and closed with `code`, not with the
    // 4000 an expiry gives the socket it still holds.
    const conn = this.conn;
    this.conn = null;
    this.expire();
    conn?.close(code, reason);
  }

  /** The device is gone: nothing more is kept and the token no longer resumes it. */
  expire(): void {
    if (this.expired) return;
    this.end('session expired');
    this.o.onExpire(this);
  }
}

/** The resumable sessions of this node, by resume token. */
export class SessionRegistry {
  private readonly byToken = new Map<string, Session>();

  constructor(private readonly o: SessionOptions) {}

  /** A new resumable device. */
  open(sender: Sender, dialect: Dialect): Session {
    return new Session(sender, dialect, this.o, this);
  }

  /** A session handed off by another node, with a token of this node's. */
  adopt(h: SessionHandoff, dialect: Dialect): Session {
    const frames = h.frames.map((f) =>
      typeof f === 'string' ? f : Buffer.from(f.buffer, f.byteOffset, f.byteLength),
    );
    const session = new Session(h.sender, dialect, this.o, this);
    session.adopted({ ...h, frames });
    this.rotate(session);
    return session;
  }

  /** The node that issued a resume token ('' if it names none). */
  static nodeOf(token: string): string {
    const dot = token.lastIndexOf('.');
    return dot > 0 ? token.slice(0, dot) : '';
  }

  /** The live session a token names, if it belongs to `userId`. */
  claim(token: string, userId: string): Session | undefined {
    const s = this.byToken.get(token);
    return s && s.sender.userId === userId ? s : undefined;
  }

  /** Gives the session a fresh token; the old one stops working. */
  rotate(session: Session): void {
    this.byToken.delete(session.token);
    session.token = `${this.o.nodeId}.${randomBytes(24).toString('base64url')}`;
    this.byToken.set(session.token, session);
  }

  forget(session: Session): void {
    if (this.byToken.get(session.token) === session) this.byToken.delete(session.token);
  }
}
