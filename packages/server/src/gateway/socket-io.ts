import { randomUUID } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import { AppError, assertBoundedValue, isRtcEvent, type ServerEvent } from '@parley/protocol';
import { bearerToken, type Authenticator, type Identity, type TokenRef } from '../auth/index.ts';
import type { Sender } from '../core/index.ts';
import type { Config } from '../config/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';
import {
  decodeRtc,
  requestIdOf,
  rtcError,
  rtcEvent,
  rtcResponse,
  type RtcErrorResponse,
  type RtcResponse,
} from './dialects/meeting.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { DeviceConnection, Hub } from './hub.ts';
import { rateClassOf, type RateCounter } from './rate-limit.ts';
import { ReplyOrder } from './reply-order.ts';
import { FloodStrikes } from './flood.ts';
import { asAppError } from '../store/index.ts';

/** What the socket.io endpoint needs from the node. */
export interface SocketIoGatewayOptions {
  config: Pick<Config, 'limits' | 'heartbeat' | 'connections'>;
  auth: Authenticator;
  hub: Hub;
  /** The WebSocket gateway's limiter: one budget per user across both transports. */
  rate: RateCounter;
  dispatcher: Dispatcher;
  /** A socket closed. */
  onDeviceOffline: (device: Sender) => void;
  /** socket.io's adapter (the Redis one in cluster mode, for broadcasts across nodes). */
  adapter?: ServerOptions['adapter'];
  metrics: Metrics;
  log: Logger;
}

/** Where socket.io serves (its upgrades are its own; the WebSocket gateway leaves them). */
export const SOCKET_IO_PATH = '/socket.io/';

/** As on the WebSocket endpoints. */
const CLIENT_TYPE = /^[A-Za-z0-9_-]{1,32}$/;

type Ack = (response: RtcResponse | RtcErrorResponse) => void;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * An answer to a request sent without an ack is an event like any broadcast, and the spec's
 * client reads an event's argument as the bare data (`socket.on('rtc:newProducer', ({
 * producerId }) => …)`): so it is the response's data (an error's `{request, error, code}`),
 * with the request's `requestId` in it, where a request may carry it too.
 */
function unacked(r: RtcResponse | RtcErrorResponse): object {
  const { type, requestId, ...rest } = r;
  const data = type === 'rtc:error' ? rest : (rest as { data: object }).data;
  return requestId === undefined ? data : { ...data, requestId };
}

/** A connect error the client sees as `connect_error` with `err.data.code`. */
function refusal(message: string, code: number): Error {
  return Object.assign(new Error(message), { data: { code } });
}

/**
 * The meeting dialect over socket.io at `/socket.io/`: the event name is the request type, the
 * argument its `data` (or a whole `{type, data, requestId}` envelope), and the ack receives the
 * response; events (broadcasts, and answers to a request sent without an ack) carry bare data,
 * as the spec's client reads them. The token comes in the handshake (`auth.token`, else `?token=`, else an
 * Authorization header). Each socket is one device.
 */
export class SocketIoGateway {
  private io: Server | null = null;
  private readonly log: Logger;

  constructor(private readonly o: SocketIoGatewayOptions) {
    this.log = o.log.child({ mod: 'socket.io' });
  }

  /** Serves `/socket.io/` on `server`, beside the WebSocket endpoints. */
  attach(server: HttpServer): void {
    const { limits, heartbeat, connections } = this.o.config;
    const io = new Server(server, {
      path: SOCKET_IO_PATH,
      // A socket that has not passed the token check by then is dropped, as on /ws.
      connectTimeout: connections.upgradeTimeoutMs,
      serveClient: false,
      maxHttpBufferSize: Math.max(16 * limits.maxFrameBytes, 1 << 20),
      pingInterval: heartbeat.intervalMs,
      pingTimeout: heartbeat.timeoutMs,
      // Upgrades on other paths belong to the WebSocket gateway.
      destroyUpgrade: false,
    });
    io.use((socket, next) => {
      const { auth, query, headers } = socket.handshake;
      const token =
        str((auth as Record<string, unknown>).token) ??
        str(query.token) ??
        bearerToken(headers.authorization);
      const clientType =
        str((auth as Record<string, unknown>).clientType) ?? str(query.clientType) ?? 'web';
      if (!CLIENT_TYPE.test(clientType)) return next(refusal('bad clientType', 40001));
      if (!token) return next(refusal('unauthorized', 40101));
      this.o.auth.verify(token).then(
        (identity) => {
          (socket.data as { identity: Identity; clientType: string }) = { identity, clientType };
          next();
        },
        (err: unknown) => {
          this.log.info(
            { event: 'handshake_refused', reason: (err as Error).message },
            'bad token',
          );
          next(refusal('unauthorized', 40101));
        },
      );
    });
    if (this.o.adapter) io.adapter(this.o.adapter);
    io.on('connection', (socket) => this.connected(socket));
    this.io = io;
  }

  /** Disconnects every socket and stops serving. */
  async close(): Promise<void> {
    // Also closes the HTTP server, which the app has already closed: that is harmless.
    await this.io?.close();
  }

  private connected(socket: Socket): void {
    const { identity, clientType } = socket.data as { identity: Identity; clientType: string };
    const sender: Sender = {
      userId: identity.userId,
      deviceId: randomUUID(),
      clientType,
      name: identity.name,
      grants: identity.grants,
    };
    const conn = new SocketIoConnection(sender, identity, socket, this.o, this.log);
    this.o.hub.add(conn);
    this.o.rate.attach(sender.userId);
    this.o.metrics.connections.labels('socket.io').inc();
    socket.on('disconnect', (reason) => {
      this.o.hub.remove(conn);
      this.o.rate.detach(sender.userId);
      this.o.metrics.connections.labels('socket.io').dec();
      this.o.onDeviceOffline(sender);
      this.log.info(
        { event: 'disconnected', userId: sender.userId, deviceId: sender.deviceId, reason },
        'socket.io device disconnected',
      );
    });
    this.log.info(
      { event: 'connected', userId: sender.userId, deviceId: sender.deviceId, clientType },
      'socket.io device connected',
    );
  }
}

/** One socket.io device: rate limit, decode, dispatch, ack; shows rtc:* events only. */
class SocketIoConnection implements DeviceConnection {
  /** Made on the first refusal: most connections never see one. */
  private flood: FloodStrikes | null = null;
  /** Bytes engine.io holds for the client, not yet handed to its transport. */
  private backlog = 0;
  /** Keeps answers in request order (each a thunk that sends one); made on the first request. */
  private replies: ReplyOrder<() => void> | null = null;

  constructor(
    readonly sender: Sender,
    /** The handshake's token: socket.io has no refresh, the socket ends at its expiry. */
    readonly credential: Identity,
    private readonly socket: Socket,
    private readonly o: SocketIoGatewayOptions,
    private readonly log: Logger,
  ) {
    socket.onAny((event: string, ...args: unknown[]) => this.onRequest(event, args));
    // engine.io queues packets while its transport is still writing the last batch: for a
    // client that does not read, without end. Capped like a WebSocket's send queue.
    socket.conn.on('packetCreate', (p: { data?: unknown }) => this.queued(p.data));
    socket.conn.on('flush', () => (this.backlog = 0));
  }

  /** What it stands on: the handshake's token alone. */
  get credentials(): readonly TokenRef[] {
    return [this.credential];
  }

  private queued(data: unknown): void {
    this.backlog +=
      typeof data === 'string' ? data.length : Buffer.isBuffer(data) ? data.byteLength : 0;
    if (this.backlog <= this.o.config.connections.maxBufferedBytes) return;
    this.backlog = -Infinity; // counted once
    this.o.metrics.slowConsumers.labels('overflow').inc();
    this.log.warn(
      { event: 'slow_consumer', userId: this.sender.userId, deviceId: this.sender.deviceId },
      'closing a socket.io client that does not read',
    );
    // Discarding the transport: a graceful close would wait for the queue to drain.
    this.socket.conn.close(true);
  }

  sendEvent(event: ServerEvent): void {
    if (!isRtcEvent(event)) return;
    const { type, data } = rtcEvent(event);
    this.socket.emit(type, data);
  }

  close(): void {
    this.socket.disconnect(true);
  }

  /**
   * socket.io has no close codes: the client is sent `session:closed` with the code a
   * WebSocket would have had, then disconnected (which ends the device).
   */
  kick(code: number, reason: string): void {
    this.socket.emit('session:closed', { code, reason });
    this.socket.disconnect(true);
  }

  private get expiresAt(): number {
    return this.credential.expiresAt;
  }

  /** engine.io pings and times out on its own (heartbeat settings); the token's expiry is ours. */
  heartbeat(now: number): void {
    if (now < this.expiresAt) return;
    this.log.info({ event: 'token_expired', userId: this.sender.userId }, 'token expired');
    this.socket.disconnect(true);
  }

  private onRequest(event: string, args: unknown[]): void {
    if (!this.socket.connected) return; // packets that arrived with the one that flooded
    if (Date.now() >= this.expiresAt) return this.heartbeat(Date.now());
    const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as Ack) : undefined;
    const payload = args[0];
    // `{type, data, requestId}` is an envelope; anything else is the data itself.
    const envelope =
      isObject(payload) && isObject(payload.data) && (payload.type ?? event) === event;
    const data = envelope ? payload.data : payload;
    const requestId = requestIdOf(payload);
    if (!this.o.rate.take(this.sender.userId, rateClassOf(event))) {
      this.o.metrics.rateLimited.inc();
      if (!this.strike()) this.fail(ack, AppError.rateLimited(), requestId, event);
      return;
    }
    try {
      // socket.io parsed the packet: bound it as the WebSocket gateway bounds a frame.
      assertBoundedValue(payload, this.o.config.limits.maxFrameBytes);
    } catch (err) {
      this.fail(ack, err, requestId, event);
      return;
    }
    const decoded = decodeRtc(event, data, requestId);
    if (!decoded.ok) {
      this.fail(ack, decoded.error, decoded.requestId, event);
      return;
    }
    // Last resort: whatever a handler or the response's encoding throws is answered, never left
    // as an unhandled rejection (which would end the process).
    this.replies ??= new ReplyOrder(
      (send) => send(),
      (err) => this.log.error({ event: 'answer_failed', err }, 'could not answer'),
    );
    this.replies.sendLater(
      new Promise((resolve) => resolve(this.o.dispatcher.run(this.sender, decoded.command)))
        .then((result) => rtcResponse(decoded, result))
        .then(
          (response) => () => {
            try {
              this.respond(ack, response);
            } catch (err) {
              // socket.io takes an ack once, even when encoding its response threw.
              this.respond(undefined, this.errorResponse(err, requestId, event));
            }
          },
          (err: unknown) => () => this.respond(ack, this.errorResponse(err, requestId, event)),
        ),
    );
  }

  /** Counts a rate-limited message; disconnects on a sustained flood (as the WS 4029). */
  private strike(): boolean {
    if (!(this.flood ??= new FloodStrikes(this.o.config.limits)).strike(Date.now())) return false;
    this.log.warn({ event: 'flood_closed', userId: this.sender.userId }, 'closing flooding socket');
    this.socket.disconnect(true);
    return true;
  }

  /** Answers with an error, after the answers to earlier requests still being worked out. */
  private fail(ack: Ack | undefined, err: unknown, requestId?: string, request?: string): void {
    const response = this.errorResponse(err, requestId, request);
    if (this.replies?.pending) this.replies.send(() => this.respond(ack, response));
    else this.respond(ack, response);
  }

  /** The error answer, counted (and logged when unforeseen). */
  private errorResponse(err: unknown, requestId?: string, request?: string): RtcErrorResponse {
    const error = asAppError(err);
    if (error.code === 'internal') {
      this.log.error({ event: 'handler_failed', err, request }, 'unexpected error');
    }
    this.o.metrics.errors.labels(error.code).inc();
    return rtcError(error.toBody(), requestId, request);
  }

  /** To the ack when the request had one, else as an event named by the response's type. */
  private respond(ack: Ack | undefined, response: RtcResponse | RtcErrorResponse): void {
    if (ack) ack(response);
    else this.socket.emit(response.type, unacked(response));
  }
}
