import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { AppError } from '@parley/protocol';
import type { Authenticator } from '../auth/index.ts';
import type { Sender } from '../calls/index.ts';
import type { Config } from '../config/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';
import type { PresenceDirectory } from '../presence/index.ts';
import { CloseCode, Connection } from './connection.ts';
import type { Dialect } from './dialect.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { Hub } from './hub.ts';
import { RateLimiter } from './rate-limit.ts';

/** What the WebSocket gateway needs from the node. */
export interface GatewayOptions {
  nodeId: string;
  config: Pick<Config, 'limits' | 'heartbeat'>;
  /** Endpoint path → dialect. */
  endpoints: ReadonlyMap<string, Dialect>;
  auth: Authenticator;
  hub: Hub;
  directory: PresenceDirectory;
  /** Core's reaction to a device arriving (after it is in the directory) and leaving. */
  onDeviceOnline: (device: Sender) => void;
  onDeviceOffline: (device: Sender) => void;
  dispatcher: Dispatcher;
  metrics: Metrics;
  log: Logger;
}

const CLIENT_TYPE = /^[A-Za-z0-9_-]{1,32}$/;

/** The bearer token of an upgrade: `?token=` or `Authorization: Bearer`. */
export function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const q = url.searchParams.get('token');
  if (q) return q;
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`,
  );
}

/**
 * Accepts WebSocket upgrades on the dialect endpoints: authenticates first (HTTP 401 and
 * nothing else on a bad token), then registers the device and hands frames to its Connection.
 */
export class Gateway {
  private readonly wss: WebSocketServer;
  /** The per-user message rate, shared with the socket.io endpoint. */
  readonly rate: RateLimiter;
  private readonly sweeper: NodeJS.Timeout;
  private readonly log: Logger;
  private accepting = true;

  constructor(private readonly o: GatewayOptions) {
    const { limits, heartbeat } = o.config;
    this.log = o.log.child({ mod: 'gateway' });
    // Frames between maxFrameBytes and this cap get a typed error and the socket stays open;
    // only frames above it make ws close with 1009.
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: Math.max(16 * limits.maxFrameBytes, 1 << 20),
      perMessageDeflate: false,
    });
    this.rate = new RateLimiter(limits.ratePerSec, limits.rateBurst);
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const conn of o.hub.all()) conn.heartbeat(now, heartbeat.timeoutMs);
    }, heartbeat.intervalMs);
    this.sweeper.unref();
  }

  /** Takes upgrades for our endpoints; others are left to whoever else listens (socket.io). */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const dialect = this.o.endpoints.get(url.pathname);
      if (!dialect) return;
      void this.upgrade(req, socket, head, url, dialect);
    });
  }

  /** Stops accepting, closes every socket with 1001. */
  close(): void {
    this.accepting = false;
    clearInterval(this.sweeper);
    for (const conn of [...this.o.hub.all()])
      conn.close(CloseCode.GoingAway, 'server shutting down');
    this.wss.close();
  }

  private async upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    dialect: Dialect,
  ): Promise<void> {
    socket.on('error', () => socket.destroy());
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
    const clientType = url.searchParams.get('clientType') ?? 'web';
    if (!CLIENT_TYPE.test(clientType)) return refuse(socket, 400, 'Bad Request');
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const sender: Sender = {
        userId: identity.userId,
        name: identity.name,
        grants: identity.grants,
        deviceId: randomUUID(),
        clientType,
      };
      const log = this.log.child({
        userId: sender.userId,
        deviceId: sender.deviceId,
        dialect: dialect.name,
      });
      const conn = new Connection({
        ws,
        socket,
        sender,
        dialect,
        limits: this.o.config.limits,
        rate: this.rate,
        dispatcher: this.o.dispatcher,
        metrics: this.o.metrics,
        log,
      });
      this.online(conn);
      ws.on('close', () => this.offline(conn));
      log.info({ event: 'connected', clientType }, 'device connected');
    });
  }

  private online(conn: Connection): void {
    const { sender } = conn;
    this.o.hub.add(conn);
    this.rate.attach(sender.userId);
    this.o.metrics.connections.labels(conn.dialect.name).inc();
    void this.o.directory
      .add({ ...sender, nodeId: this.o.nodeId, since: Date.now() })
      .then(() => this.o.onDeviceOnline(sender))
      .catch((err: unknown) =>
        this.log.error({ event: 'presence_failed', err }, 'presence add failed'),
      );
  }

  private offline(conn: Connection): void {
    const { sender } = conn;
    this.o.hub.remove(conn);
    this.rate.detach(sender.userId);
    this.o.metrics.connections.labels(conn.dialect.name).dec();
    this.o.onDeviceOffline(sender);
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
