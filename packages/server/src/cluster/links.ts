import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../observability/index.ts';

/** What a node needs to know about the others to dial them. */
export interface LinkPeers {
  /** The advert (`ws://host:port key`) `nodeId` put in its liveness key, if any. */
  advertOf(nodeId: string): string | undefined;
  /** Whether `nodeId` may be alive (a node taken for dead is not dialled). */
  isAlive(nodeId: string): boolean;
}

export interface NodeLinksOptions {
  nodeId: string;
  /** Address to listen on, which the other nodes dial. */
  host: string;
  /** 0: any free port. */
  port: number;
  /** How often an open link is pinged; a link silent for `timeoutMs` is dropped. */
  pingMs: number;
  timeoutMs: number;
  log: Logger;
}

/** An inbound link's messages wait at most this long for their marker (Redis is down). */
const HOLD_MS = 5_000;
/** Bytes a link may have unsent (a stalled peer) before it is dropped for the Redis path. */
const MAX_BUFFERED = 8 * 1024 * 1024;
/** Largest batch a link carries (a batch of bus messages, a chat file among them). */
const MAX_PAYLOAD = 64 * 1024 * 1024;
const NODE_ID = /^[A-Za-z0-9_-]{1,32}$/;
const LINK_ID = /^[A-Za-z0-9_-]{8,64}$/;
/** A link's marker as a bus message (the same whichever way it goes). */
const markerText = (linkId: string) => JSON.stringify({ kind: 'link-open', linkId });

/** A link this node dialled: sends one node's messages, batched per turn of the event loop. */
export class OutLink {
  private queue: string[] = [];
  private lastPong = Date.now();

  constructor(
    readonly nodeId: string,
    readonly linkId: string,
    private readonly ws: WebSocket,
  ) {
    ws.on('pong', () => (this.lastPong = Date.now()));
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * Sends the link's marker over the link itself (when Redis cannot carry it), as the link's
   * first frame and a frame of its own, never batched with what follows.
   */
  sendMarker(): void {
    this.ws.send(markerText(this.linkId));
  }

  /** Queues an encoded bus message; this turn's go out as one frame, in order. */
  send(text: string): void {
    this.queue.push(text);
    if (this.queue.length === 1) setImmediate(this.flush);
  }

  /** Pings the peer, or drops the link when it has not answered for `timeoutMs`. */
  check(now: number, timeoutMs: number): void {
    if (now - this.lastPong > timeoutMs) this.ws.terminate();
    else if (this.open) this.ws.ping();
  }

  close(): void {
    this.ws.terminate();
  }

  private readonly flush = (): void => {
    const q = this.queue;
    this.queue = [];
    if (!this.open) return; // closed meanwhile: lost, as a Redis publish to a dead node is
    this.ws.send(q.length === 1 ? q[0]! : `[${q.join(',')}]`);
    if (this.ws.bufferedAmount > MAX_BUFFERED) this.ws.terminate();
  };
}

/** An inbound link: its messages are held until the marker its dialler sent through Redis. */
interface InLink {
  from: string;
  held: string[] | null;
  timer: NodeJS.Timeout | null;
}

type OutState =
  | { state: 'open'; link: OutLink }
  | { state: 'dialling' }
  | { state: 'idle'; retryAt: number; failures: number };

/**
 * Direct WebSocket links between the nodes of a cluster, so that a message for one node goes
 * straight to it instead of through Redis (one hop instead of two; latency and Redis's CPU).
 * Each node listens on its own link port, advertised with a random key in its liveness key;
 * only a dialler that read that key from Redis (a member of the cluster, as trusted as a bus
 * publisher) gets in. Each node dials the others lazily, when it first has a message for
 * them, and the link carries that direction only.
 *
 * Order: a node's messages to another arrive in the order sent, whichever path they take.
 * Until a link opens they go through Redis; when it opens, the dialler publishes a marker
 * through Redis (`onOpen`) and sends the rest over the link, and the receiver holds what the
 * link brings until the marker arrives (`release`), that is until everything published
 * before it has been delivered. While Redis is unreachable (nothing is on its way through
 * it) the marker goes over the link itself, first. A link that breaks falls back to Redis, as
 * a node that dies loses what was in flight to it either way.
 */
export class NodeLinks {
  /** Called when a link to `nodeId` opened: send its marker, through Redis or the link. */
  onOpen: (nodeId: string, linkId: string, link: OutLink) => void = () => undefined;
  /** Called with each message text an inbound link delivers, in order. */
  onMessage: (text: string) => void = () => undefined;

  private readonly out = new Map<string, OutState>();
  private readonly inbound = new Map<string, InLink>();
  /** Markers that came before their link's first message. */
  private readonly early = new Map<string, NodeJS.Timeout>();
  private readonly pinger: NodeJS.Timeout;
  private readonly log: Logger;
  private peers: LinkPeers | null = null;
  private closed = false;

  private constructor(
    private readonly o: NodeLinksOptions,
    private readonly server: WebSocketServer,
    /** This node's advert: its link URL and key. */
    readonly advert: string,
  ) {
    this.log = o.log.child({ mod: 'links' });
    server.on('connection', (ws, req) => this.accept(ws, req));
    server.on('error', (err) => this.log.error({ event: 'link_server_error', err }, 'link server'));
    this.pinger = setInterval(() => {
      const now = Date.now();
      for (const s of this.out.values()) if (s.state === 'open') s.link.check(now, o.timeoutMs);
    }, o.pingMs);
    this.pinger.unref();
  }

  /** Listens on the link port; fails when it is taken. */
  static async listen(o: NodeLinksOptions): Promise<NodeLinks> {
    const key = randomBytes(18).toString('base64url');
    const expected = Buffer.from(`Bearer ${key}`);
    const server = new WebSocketServer({
      host: o.host,
      port: o.port,
      maxPayload: MAX_PAYLOAD,
      perMessageDeflate: false,
      verifyClient: ({ req }: { req: IncomingMessage }) => {
        const given = Buffer.from(req.headers.authorization ?? '');
        const { 'x-parley-node': from, 'x-parley-link': linkId } = req.headers;
        return (
          given.length === expected.length &&
          timingSafeEqual(given, expected) &&
          typeof from === 'string' &&
          NODE_ID.test(from) &&
          typeof linkId === 'string' &&
          LINK_ID.test(linkId)
        );
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', (err) =>
        reject(new Error(`cannot listen for cluster links on ${o.host}:${o.port}: ${err.message}`)),
      );
    });
    const { port } = server.address() as { port: number };
    const host = o.host.includes(':') ? `[${o.host}]` : o.host;
    return new NodeLinks(o, server, `ws://${host}:${port} ${key}`);
  }

  /** The nodes this node has an open link to. */
  linked(): string[] {
    return [...this.out].flatMap(([nodeId, s]) => (s.state === 'open' ? [nodeId] : []));
  }

  /** Where adverts and liveness come from (the registry, once it exists). */
  usePeers(peers: LinkPeers): void {
    this.peers = peers;
  }

  /**
   * The open link to `nodeId`, or null (send through Redis): then a link is dialled, unless
   * one is being dialled, the node is taken for dead or advertises none, or the last attempt
   * failed a moment ago.
   */
  to(nodeId: string): OutLink | null {
    const s = this.out.get(nodeId);
    if (s?.state === 'open') return s.link;
    if (s?.state === 'dialling' || this.closed) return null;
    if (s && Date.now() < s.retryAt) return null;
    const peers = this.peers;
    const advert = peers?.isAlive(nodeId) ? peers.advertOf(nodeId) : undefined;
    const [url, key] = advert?.split(' ') ?? [];
    if (url?.startsWith('ws://') && key) this.dial(nodeId, url, key, s?.failures ?? 0);
    return null;
  }

  /** The marker of link `linkId` came through Redis: what it brought so far goes on. */
  release(linkId: string): void {
    const link = this.inbound.get(linkId);
    if (!link) {
      // The link's connection has not been seen yet: remember the marker for a while.
      const timer = setTimeout(() => this.early.delete(linkId), HOLD_MS);
      timer.unref();
      this.early.set(linkId, timer);
      return;
    }
    this.unhold(linkId, link);
  }

  /** `nodeId` died: its link goes, and it is not dialled again while taken for dead. */
  drop(nodeId: string): void {
    const s = this.out.get(nodeId);
    if (s?.state === 'open') s.link.close();
    this.out.delete(nodeId);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pinger);
    for (const s of this.out.values()) if (s.state === 'open') s.link.close();
    this.out.clear();
    for (const t of this.early.values()) clearTimeout(t);
    for (const ws of this.server.clients) ws.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const link of this.inbound.values()) if (link.timer) clearTimeout(link.timer);
    this.inbound.clear();
  }

  private dial(nodeId: string, url: string, key: string, failures: number): void {
    const linkId = randomBytes(12).toString('base64url');
    this.out.set(nodeId, { state: 'dialling' });
    const ws = new WebSocket(url, {
      headers: {
        authorization: `Bearer ${key}`,
        'x-parley-node': this.o.nodeId,
        'x-parley-link': linkId,
      },
      perMessageDeflate: false,
      maxPayload: MAX_PAYLOAD,
      handshakeTimeout: this.o.timeoutMs,
      // A zero mask, which both ends skip: masking guards browsers' traffic through proxies,
      // and costs a pass over every byte on each end of a link between two servers.
      generateMask: (mask: Buffer) => mask.fill(0),
    });
    const link = new OutLink(nodeId, linkId, ws);
    ws.on('open', () => {
      if (this.out.get(nodeId)?.state !== 'dialling' || this.closed) return ws.terminate();
      // The marker goes first (see onOpen); then the link carries this node's messages.
      this.onOpen(nodeId, linkId, link);
      this.out.set(nodeId, { state: 'open', link });
      this.log.info({ event: 'link_open', to: nodeId }, 'cluster link open');
    });
    ws.on('error', (err) => {
      // Retried with a backoff when there is something to send again; until then, Redis.
      if (failures === 0) {
        this.log.warn({ event: 'link_failed', to: nodeId, err: err.message }, 'link failed');
      }
    });
    ws.on('close', () => {
      const s = this.out.get(nodeId);
      if (s?.state === 'dialling' || (s?.state === 'open' && s.link === link)) {
        const wasOpen = s.state === 'open';
        const n = wasOpen ? 0 : failures + 1;
        this.out.set(nodeId, { state: 'idle', failures: n, retryAt: Date.now() + backoff(n) });
        if (wasOpen) this.log.info({ event: 'link_closed', to: nodeId }, 'cluster link closed');
      }
    });
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const from = String(req.headers['x-parley-node']);
    const linkId = String(req.headers['x-parley-link']);
    const early = this.early.get(linkId);
    const link: InLink = { from, held: early ? null : [], timer: null };
    if (early) {
      clearTimeout(early);
      this.early.delete(linkId);
    } else {
      link.timer = setTimeout(() => {
        this.log.warn(
          { event: 'link_marker_late', from },
          'link marker did not come through Redis',
        );
        this.unhold(linkId, link);
      }, HOLD_MS);
      link.timer.unref();
      this.inbound.set(linkId, link);
    }
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      if (!link.held) this.onMessage(text);
      else if (text === markerText(linkId)) this.unhold(linkId, link);
      else link.held.push(text);
    });
    ws.on('error', (err) => this.log.debug({ event: 'link_error', from, err: err.message }));
    // A link closed before its marker keeps what it held until the marker (or the timeout).
    ws.on('close', () => {
      if (!link.held) this.inbound.delete(linkId);
    });
  }

  private unhold(linkId: string, link: InLink): void {
    if (link.timer) clearTimeout(link.timer);
    link.timer = null;
    const held = link.held ?? [];
    link.held = null;
    for (const text of held) this.onMessage(text);
    this.inbound.delete(linkId);
  }
}

/** Wait before dialling a node again after `failures` failed attempts in a row. */
const backoff = (failures: number) => Math.min(100 * 2 ** failures, 5_000);
