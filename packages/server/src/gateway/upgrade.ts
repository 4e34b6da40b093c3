import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { BlockList, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { AppError } from '@parley/protocol';
import { bearerToken, type Authenticator } from '../auth/index.ts';
import { frameClock, type Sender } from '../core/index.ts';
import type { Config } from '../config/index.ts';
import { clientInfo, trustedProxies, type Logger, type Metrics } from '../observability/index.ts';
import type { PresenceDirectory } from '../presence/index.ts';
import { CloseCode, Connection } from './connection.ts';
import type { Dialect, WireFrame } from './dialect.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { DeviceConnection, Hub } from './hub.ts';
import { heartbeatTickMs, sweepHeartbeats } from './heartbeat.ts';
import { RateLimiter, rateBudgets, type RateCounter } from './rate-limit.ts';
import { SessionRegistry, type Session, type SessionHandoff } from './sessions.ts';
import { acceptHandshake } from './websocket/handshake.ts';
import { WsSocket } from './websocket/socket.ts';

/** A resume that names a session of another node (cluster mode): asks that node for it. */
export interface RemoteSessions {
  take(
    nodeId: string,
    request: { token: string; userId: string; dialect: string; received?: number },
  ): Promise<SessionHandoff | null>;
}

/** What the WebSocket gateway needs from the node. */
export interface GatewayOptions {
  nodeId: string;
  config: Pick<Config, 'limits' | 'heartbeat' | 'connections'> & {
    calls: Pick<Config['calls'], 'disconnectGraceMs'>;
    server: Pick<Config['server'], 'trustedProxies'>;
  };
  /** Endpoint path → dialect. */
  endpoints: ReadonlyMap<string, Dialect>;
  /**
   * Path prefixes whose upgrades another listener of the server takes (socket.io's
   * `/socket.io/`). Upgrades to any other path are answered 404 and closed.
   */
  foreignPrefixes?: readonly string[];
  auth: Authenticator;
  hub: Hub;
  directory: PresenceDirectory;
  /**
   * Core's reaction to a device arriving (after it is in the directory) and leaving.
   * `graceElapsed`: a resumable device already waited out `calls.disconnectGraceMs` for its
   * resume, so its calls need not wait again.
   */
  onDeviceOnline: (device: Sender) => void;
  onDeviceOffline: (device: Sender, graceElapsed: boolean) => void;
  /** A connection of a meeting-only endpoint closed: the meetings it was in hear it. */
  onMeetingDeviceOffline: (device: Sender) => void;
  dispatcher: Dispatcher;
  /** The per-user budget; default: this node's own token buckets. */
  rate?: RateCounter;
  /** Where resumes of other nodes' sessions go (cluster mode); without it they start afresh. */
  remoteSessions?: RemoteSessions;
  metrics: Metrics;
  log: Logger;
}

const CLIENT_TYPE = /^[A-Za-z0-9_-]{1,32}$/;

/** Frames a resumable device can miss and still resume (a call's worth of ICE many times). */
const REPLAY_FRAMES = 512;

/** The bearer token of an upgrade: `?token=` or `Authorization: Bearer`. */
export function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const q = url.searchParams.get('token');
  if (q) return q;
  return bearerToken(req.headers.authorization);
}

/** One listener for every handshaking socket (`this` is the socket), not a closure each. */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** Answers an upgrade with an HTTP error and closes the socket once the answer is out. */
function refuse(socket: Duplex, status: number, text: string, headers = ''): void {
  if (socket.destroyed || socket.writableEnded) return;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n${headers}Content-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`,
  );
}

/**
 * Accepts WebSocket upgrades on the dialect endpoints: authenticates first (HTTP 401 and
 * nothing else on a bad token), then registers the device and hands frames to its Connection.
 */
export class Gateway {
  /** The largest message a socket reads; a larger one closes it with 1009. */
  private readonly maxPayload: number;
  /** The per-user message rate, shared with the socket.io endpoint. */
  readonly rate: RateCounter;
  private readonly sweeper: NodeJS.Timeout;
  private readonly sessions: SessionRegistry;
  private readonly log: Logger;
  /** Peers whose X-Forwarded-For is believed (see `clientInfo`). */
  private readonly proxies: BlockList;
  private accepting = true;
  /** Upgrades between their request and their switch to WebSocket (authenticating). */
  private pending = 0;

  constructor(private readonly o: GatewayOptions) {
    const { limits, heartbeat } = o.config;
    this.log = o.log.child({ mod: 'gateway' });
    this.proxies = trustedProxies(o.config.server.trustedProxies);
    // Frames between maxFrameBytes and this cap get a typed error and the socket stays open;
    // only frames above it close the socket with 1009.
    this.maxPayload = Math.max(16 * limits.maxFrameBytes, 2 * limits.maxChatFrameBytes, 1 << 20);
    this.rate = o.rate ?? new RateLimiter(rateBudgets(limits), frameClock);
    this.sessions = new SessionRegistry({
      nodeId: o.nodeId,
      graceMs: o.config.calls.disconnectGraceMs,
      replayFrames: REPLAY_FRAMES,
      replayBytes: o.config.connections.maxBufferedBytes,
      onExpire: (session) => this.offline(session, true),
    });
    this.sweeper = setInterval(
      () => sweepHeartbeats(o.hub.all(), Date.now(), heartbeat),
      heartbeatTickMs(heartbeat),
    );
    this.sweeper.unref();
  }

  /**
   * Takes upgrades for our endpoints and leaves those under `foreignPrefixes` to their
   * listener (socket.io); any other path gets 404 and is closed, so that no socket is left
   * unanswered.
   */
  attach(server: Server): void {
    const foreign = this.o.foreignPrefixes ?? [];
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = req.url ?? '/';
      if (foreign.some((prefix) => path.startsWith(prefix))) return;
      socket.on('error', destroyOnError);
      let url: URL;
      try {
        url = new URL(path, 'http://localhost');
      } catch {
        return refuse(socket, 400, 'Bad Request');
      }
      const dialect = this.o.endpoints.get(url.pathname);
      if (!dialect) return refuse(socket, 404, 'Not Found');
      this.admit(req, socket, head, url, dialect);
    });
  }

  /**
   * Bounds the handshakes in flight (a slow token check, e.g. a JWKS that does not answer,
   * must not pile up sockets): at most `maxPendingUpgrades` at once, each closed with 408 if it
   * has not become a WebSocket within `upgradeTimeoutMs`.
   */
  private admit(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, dialect: Dialect) {
    const { maxPendingUpgrades, upgradeTimeoutMs } = this.o.config.connections;
    if (this.pending >= maxPendingUpgrades) {
      this.o.metrics.upgradesRefused.labels('pending').inc();
      return refuse(socket, 503, 'Service Unavailable');
    }
    this.pending++;
    this.o.metrics.upgradesPending.inc();
    let settled = false;
    // Once settled, nothing of the handshake stays attached to the socket it became.
    const settle = () => {
      if (settled) return;
      settled = true;
      this.pending--;
      this.o.metrics.upgradesPending.dec();
      clearTimeout(timer);
      socket.off('close', settle);
    };
    const timer = setTimeout(() => {
      settle();
      this.o.metrics.upgradesRefused.labels('timeout').inc();
      refuse(socket, 408, 'Request Timeout');
    }, upgradeTimeoutMs);
    socket.on('close', settle);
    this.upgrade(req, socket, head, url, dialect, () => {
      const live = !settled;
      settle();
      return live;
    }).catch((err: unknown) => {
      settle();
      this.log.error({ event: 'upgrade_failed', err }, 'upgrade failed');
      refuse(socket, 500, 'Internal Server Error');
    });
  }

  /**
   * Hands a parked (or still attached) session over to the node where its device resumed:
   * it leaves this node's hub and presence without going offline. Null when the token names
   * no session of `userId` here that can replay from `received` in that dialect.
   */
  async handOff(request: {
    token: string;
    userId: string;
    dialect: string;
    received?: number;
  }): Promise<SessionHandoff | null> {
    const session = this.sessions.claim(request.token, request.userId);
    if (!session || session.dialect.name !== request.dialect) return null;
    if (!session.canReplay(request.received)) return null;
    const handoff = session.handOff(request.received);
    const { sender } = session;
    this.o.hub.remove(session);
    this.rate.detach(sender.userId);
    await this.o.directory.remove(sender.userId, sender.deviceId);
    this.log.info(
      { event: 'session_handed_off', userId: sender.userId, deviceId: sender.deviceId },
      'session resumed on another node',
    );
    return handoff;
  }

  /** Stops accepting, closes every socket with 1001. */
  close(): void {
    this.accepting = false;
    clearInterval(this.sweeper);
    for (const conn of [...this.o.hub.all()])
      conn.close(CloseCode.GoingAway, 'server shutting down');
  }

  private async upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    dialect: Dialect,
    /** Ends the handshake's time limit; false when it already ran out (the socket is gone). */
    settle: () => boolean,
  ): Promise<void> {
    if (!this.accepting) return refuse(socket, 503, 'Service Unavailable');
    const token = tokenOf(req, url);
    let identity;
    try {
      if (!token) throw AppError.unauthorized();
      identity = await this.o.auth.verify(token);
    } catch (err) {
      this.log.info({ event: 'upgrade_refused', reason: (err as Error).message }, 'bad token');
      return refuse(socket, 401, 'Unauthorized');
    }
    // Not a WebSocket handshake: refused before it can claim a session to resume.
    const handshake = acceptHandshake(req);
    if (!handshake.ok) return refuse(socket, handshake.status, handshake.text, handshake.headers);
    const clientType = url.searchParams.get('clientType') ?? 'web';
    if (!CLIENT_TYPE.test(clientType)) return refuse(socket, 400, 'Bad Request');
    const resumeToken = url.searchParams.get('resume');
    const resumable =
      dialect.encodeSession !== undefined &&
      (resumeToken !== null || url.searchParams.get('resumable') === '1');
    const receivedText = url.searchParams.get('received');
    const received = receivedText === null ? undefined : Number(receivedText);
    if (received !== undefined && !(Number.isSafeInteger(received) && received >= 0)) {
      return refuse(socket, 400, 'Bad Request');
    }
    // A resume names a live session of the same user that can replay what the client missed
    // (here, or on the node that issued the token); anything else is a new device (and a
    // session that cannot replay is gone).
    let resumed = resumeToken ? this.sessions.claim(resumeToken, identity.userId) : undefined;
    if (resumed && !resumed.canReplay(received)) {
      this.log.info({ event: 'resume_gap', received }, 'too much missed to resume');
      resumed.expire();
      resumed = undefined;
    }
    if (!resumed && resumeToken && resumable) {
      resumed = await this.adoptRemote(resumeToken, identity.userId, dialect, received);
    }
    if (!settle()) return;
    socket.write(handshake.response);
    const ws = new WsSocket(socket as Socket, this.maxPayload);
    const sender: Sender = resumed?.sender ?? {
      userId: identity.userId,
      name: identity.name,
      grants: identity.grants,
      deviceId: randomUUID(),
      clientType,
      client: clientInfo(req, this.proxies),
    };
    const session = resumable ? (resumed ?? this.sessions.open(sender, dialect)) : undefined;
    const conn = new Connection({
      ws,
      onClosed: this.closer(session),
      sender,
      expiresAt: identity.expiresAt,
      credential: identity,
      auth: this.o.auth,
      dialect,
      limits: this.o.config.limits,
      connections: this.o.config.connections,
      rate: this.rate,
      dispatcher: this.o.dispatcher,
      metrics: this.o.metrics,
      log: this.log,
      ...(session ? { output: (frame: WireFrame) => session.output(frame) } : {}),
    });
    this.o.metrics.connections.labels(dialect.name).inc();
    if (dialect.meetingOnly) this.meetingPeer(conn);
    else if (!resumed) this.online(session ?? conn);
    session?.attach(conn, resumed !== undefined, received);
    // The WebSocket has its own error handling on the socket from here on.
    socket.off('error', destroyOnError);
    ws.start(conn, head);
    this.log.info(
      {
        ...conn.who(),
        event: resumed ? 'resumed' : 'connected',
        clientType: sender.clientType,
        resumable,
      },
      resumed ? 'device resumed' : 'device connected',
    );
  }

  /**
   * What the socket's end means for its device. A method of its own so that the listener
   * closes over the session alone, not over the whole handshake (an idle connection keeps it).
   */
  private closer(session: Session | undefined): (conn: Connection, code: number) => void {
    return (conn, code) => {
      const { dialect } = conn;
      this.o.metrics.connections.labels(dialect.name).dec();
      if (dialect.meetingOnly) this.meetingPeerGone(conn);
      else if (!session) this.offline(conn, false);
      // A client that says goodbye (1000, or 1001: the page is going away) is not coming back.
      else if (code === 1000 || code === 1001) session.leave(conn);
      else if (session.detach(conn)) {
        this.log.info({ ...conn.who(), event: 'parked' }, 'device awaits its resume');
      }
    };
  }

  /**
   * Takes over a session of the node that issued `token`, if it still has it: the device is
   * here from now on (hub, presence) without being a new device to its calls and rooms.
   */
  private async adoptRemote(
    token: string,
    userId: string,
    dialect: Dialect,
    received: number | undefined,
  ): Promise<Session | undefined> {
    const node = SessionRegistry.nodeOf(token);
    if (!this.o.remoteSessions || !node || node === this.o.nodeId) return undefined;
    const handoff = await this.o.remoteSessions
      .take(node, {
        token,
        userId,
        dialect: dialect.name,
        ...(received === undefined ? {} : { received }),
      })
      .catch((err: unknown) => {
        this.log.warn({ event: 'session_take_failed', node, err }, 'remote resume failed');
        return null;
      });
    if (!handoff) return undefined;
    const session = this.sessions.adopt(handoff, dialect);
    const { sender } = session;
    this.o.hub.add(session);
    this.rate.attach(sender.userId);
    await this.o.directory
      .add({ ...sender, nodeId: this.o.nodeId, since: Date.now() })
      .catch((err: unknown) =>
        this.log.error({ event: 'presence_failed', err }, 'presence add failed'),
      );
    this.log.info(
      { event: 'session_taken_over', userId: sender.userId, deviceId: sender.deviceId, node },
      'session moved here',
    );
    return session;
  }

  /** A meeting-only connection: reachable through the hub, rate-limited, not in presence. */
  private meetingPeer(conn: DeviceConnection): void {
    this.o.hub.add(conn);
    this.rate.attach(conn.sender.userId);
  }

  private meetingPeerGone(conn: DeviceConnection): void {
    this.o.hub.remove(conn);
    this.rate.detach(conn.sender.userId);
    this.o.onMeetingDeviceOffline(conn.sender);
  }

  private online(conn: DeviceConnection): void {
    const { sender } = conn;
    this.o.hub.add(conn);
    this.rate.attach(sender.userId);
    void this.o.directory
      .add({ ...sender, nodeId: this.o.nodeId, since: Date.now() })
      .then(() => this.o.onDeviceOnline(sender))
      .catch((err: unknown) =>
        this.log.error({ event: 'presence_failed', err }, 'presence add failed'),
      );
  }

  private offline(conn: DeviceConnection, graceElapsed: boolean): void {
    const { sender } = conn;
    this.o.hub.remove(conn);
    this.rate.detach(sender.userId);
    this.o.onDeviceOffline(sender, graceElapsed);
    void this.o.directory
      .remove(sender.userId, sender.deviceId)
      .catch((err: unknown) =>
        this.log.error({ event: 'presence_failed', err }, 'presence remove failed'),
      );
    this.log.info(
      { event: 'disconnected', userId: sender.userId, deviceId: sender.deviceId },
      'device disconnected',
    );
  }
}
