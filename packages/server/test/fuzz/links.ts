import { WebSocket, type RawData } from 'ws';
import { ENDPOINT } from '../harness.ts';
import { readChat, readSocketIo, readText, type Answer } from './answers.ts';
import type { FuzzDialect } from './world.ts';

/**
 * The fuzzer's connections: a raw WebSocket per JSON or protobuf dialect and a raw socket.io
 * client (engine.io v4 packets over a WebSocket, so that any argument, however deep, is sent
 * as written). Each reports what it reads and how it closed; none interprets anything else.
 */

/** What a link tells the driver. */
export interface LinkEvents {
  /** A frame arrived and was read. */
  answer(link: Link, answer: Answer): void;
  /** A frame arrived that could not be read at all (not JSON, not a ChatMessage). */
  unreadable(link: Link, err: unknown): void;
  /** The server closed the link (not called when we closed it). */
  closed(link: Link, code: number | string, reason: string): void;
}

/** One connection of one fuzz user. */
export interface Link {
  readonly dialect: FuzzDialect;
  readonly userId: string;
  /** Whether it can send (false once closed). */
  readonly open: boolean;
  /** Sends a text or binary frame; on socket.io, `text` is an event packet's `[name, arg]`. */
  send(frame: string | Uint8Array): void;
  /** socket.io only: sends `[name, arg]` asking for an ack; returns the id the ack will carry. */
  emitWithAck?(packet: string): string;
  close(): void;
}

const ENDPOINTS: Record<Exclude<FuzzDialect, 'socket.io'>, string> = {
  native: ENDPOINT.native,
  video_call: ENDPOINT.video_call,
  room: ENDPOINT.room,
  chat: ENDPOINT.chat,
  meeting: '/ws/meeting',
};

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

/** A WebSocket of one of the JSON dialects or chat-protobuf. */
class WsLink implements Link {
  private byUs = false;

  private constructor(
    readonly dialect: Exclude<FuzzDialect, 'socket.io'>,
    readonly userId: string,
    private readonly ws: WebSocket,
    events: LinkEvents,
  ) {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = data as Buffer;
      let answer: Answer;
      try {
        answer = isBinary ? readChat(buf) : readText(dialect, buf.toString('utf8'));
      } catch (err) {
        events.unreadable(this, err);
        return;
      }
      events.answer(this, answer);
    });
    ws.on('error', () => {}); // the close event follows and says how
    ws.on('close', (code, reason) => {
      if (!this.byUs) events.closed(this, code, String(reason));
    });
  }

  static async open(
    wsBase: string,
    dialect: Exclude<FuzzDialect, 'socket.io'>,
    userId: string,
    token: string,
    events: LinkEvents,
  ): Promise<Link> {
    const ws = new WebSocket(`${wsBase}${ENDPOINTS[dialect]}?token=${token}&clientType=fuzz`);
    const link = new WsLink(dialect, userId, ws, events);
    await opened(ws);
    return link;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: string | Uint8Array): void {
    this.ws.send(frame, { binary: typeof frame !== 'string' });
  }

  close(): void {
    this.byUs = true;
    this.ws.close();
  }
}

let serial = 0;

/**
 * socket.io at `/socket.io/` spoken by hand: `0{…}` open → `40{auth}` connect → `40{sid}`;
 * `2` ping → `3` pong; `42[name, arg]` events; `42<id>[…]` asks for an ack, answered `43<id>[…]`;
 * `41` is a disconnect from the server.
 */
class SocketIoLink implements Link {
  readonly dialect = 'socket.io' as const;
  private byUs = false;
  private connected = false;
  private nextAck = 0;
  /** Prefix that makes this link's ack ids unique among every link's request ids. */
  private readonly prefix = `sio${++serial}.`;

  private constructor(
    readonly userId: string,
    private readonly ws: WebSocket,
    private readonly events: LinkEvents,
    onConnect: (err?: Error) => void,
  ) {
    ws.on('message', (data: RawData) => {
      const text = (data as Buffer).toString('utf8');
      try {
        this.packet(text, onConnect);
      } catch (err) {
        events.unreadable(this, err);
      }
    });
    ws.on('error', () => {});
    ws.on('close', (code, reason) => {
      const wasConnected = this.connected;
      this.connected = false;
      if (!wasConnected) onConnect(new Error(`socket.io closed before connect (${code})`));
      else if (!this.byUs) events.closed(this, code, String(reason));
    });
  }

  static async open(httpBase: string, userId: string, token: string, events: LinkEvents) {
    const url = `${httpBase.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
    const ws = new WebSocket(url);
    let link!: SocketIoLink;
    const connected = new Promise<void>((resolve, reject) => {
      link = new SocketIoLink(userId, ws, events, (err) => (err ? reject(err) : resolve()));
    });
    await opened(ws);
    ws.send(`40${JSON.stringify({ token, clientType: 'fuzz' })}`);
    await connected;
    return link;
  }

  private packet(text: string, onConnect: (err?: Error) => void): void {
    if (text === '2') return this.ws.send('3');
    if (text.startsWith('0')) return; // engine.io open
    if (text.startsWith('40')) {
      this.connected = true;
      return onConnect();
    }
    if (text.startsWith('44')) return onConnect(new Error(`connect_error ${text.slice(2)}`));
    if (text.startsWith('41')) {
      this.connected = false;
      this.events.closed(this, 'io server disconnect', '');
      return;
    }
    const m = /^4([23])(\d*)(\[.*)$/s.exec(text);
    if (!m) throw new Error(`unexpected socket.io packet ${text.slice(0, 80)}`);
    const args = JSON.parse(m[3]!) as unknown[];
    if (m[1] === '3') {
      const answer = readSocketIo('', args[0]);
      this.events.answer(this, { ...answer, ids: [this.prefix + m[2]!] });
    } else {
      this.events.answer(this, readSocketIo(String(args[0]), args[1]));
    }
  }

  get open(): boolean {
    return this.connected && this.ws.readyState === WebSocket.OPEN;
  }

  send(packet: string | Uint8Array): void {
    this.ws.send(`42${String(packet)}`);
  }

  emitWithAck(packet: string): string {
    const id = this.nextAck++;
    this.ws.send(`42${id}${packet}`);
    return this.prefix + String(id);
  }

  close(): void {
    this.byUs = true;
    this.ws.close();
  }
}

/** Opens `dialect`'s connection for `userId`. */
export function openLink(
  base: { wsBase: string; httpBase: string },
  dialect: FuzzDialect,
  userId: string,
  token: string,
  events: LinkEvents,
): Promise<Link> {
  return dialect === 'socket.io'
    ? SocketIoLink.open(base.httpBase, userId, token, events)
    : WsLink.open(base.wsBase, dialect, userId, token, events);
}
