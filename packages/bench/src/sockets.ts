import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';

/** Frames sent and received by a group of sockets during one measurement. */
export interface Tally {
  sent: number;
  received: number;
  bytesSent: number;
  bytesReceived: number;
}

export const newTally = (): Tally => ({ sent: 0, received: 0, bytesSent: 0, bytesReceived: 0 });

const FIN = 0x80;
const MASKED = 0x80;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/**
 * Writes a masked client frame header for `length` payload bytes at `at`; returns the payload's
 * offset. The masking key is all zeros, so the payload goes out as it is: the key is the
 * client's choice (RFC 6455 §5.3), and it spares the load generator a pass over every byte.
 */
function header(out: Buffer, at: number, opcode: number, length: number): number {
  out[at++] = FIN | opcode;
  if (length < 126) {
    out[at++] = MASKED | length;
  } else if (length < 0x10000) {
    out[at++] = MASKED | 126;
    at = out.writeUInt16BE(length, at);
  } else {
    out[at++] = MASKED | 127;
    at = out.writeBigUInt64BE(BigInt(length), at);
  }
  return out.writeUInt32BE(0, at);
}

const headerBytes = (length: number) => (length < 126 ? 6 : length < 0x10000 ? 8 : 14);

/** Text frames, back to back in one buffer (one TCP write, as a browser's ICE trickle). */
function textFrames(texts: readonly string[]): Buffer {
  let total = 0;
  const lengths = texts.map((t) => {
    const n = Buffer.byteLength(t);
    total += headerBytes(n) + n;
    return n;
  });
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    at = header(out, at, OP_TEXT, lengths[i]!);
    at += out.write(texts[i]!, at);
  }
  return out;
}

/** A load-generating client: the lean one below, or the `ws` client (ws-client.ts). */
export interface BenchClient {
  tally: Tally;
  /** Each received text or binary frame's payload. */
  onFrame: (data: Buffer) => void;
  send(text: string): void;
  /** Sends frames back to back (one TCP write where the client can). */
  sendAll(texts: readonly string[]): void;
  close(): void;
}

/**
 * One bench client: counts frames into the current tally and hands each frame's bytes to
 * `onFrame`, which the phases replace as they drive the socket through their scenarios.
 *
 * It speaks just enough RFC 6455 over a plain TCP socket (text frames out, whole frames in,
 * pings answered) rather than going through the `ws` client: the load generator runs on one
 * core of the same machine as the server under test and must stay well below it in cost per
 * message, or it, not the server, sets the rate the bench measures.
 */
export class BenchSocket implements BenchClient {
  tally: Tally = newTally();
  onFrame: (data: Buffer) => void = () => {};
  /** The start of a frame whose end has not arrived yet. */
  private partial: Buffer | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.setTimeout(0);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', () => {});
  }

  /**
   * Opens a socket; resolves once it is open and, when `firstFrame` is given, that frame has
   * arrived (PeerJS says `{"type":"OPEN"}` before it accepts messages).
   */
  static open(this: void, url: string, firstFrame?: string): Promise<BenchSocket> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      const req = request({
        host: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        timeout: 30_000,
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        },
      });
      const shown = url.replace(/token=[^&]+/, 'token=…');
      req.once('error', reject);
      req.once('timeout', () => req.destroy(new Error(`${shown}: no handshake in 30 s`)));
      req.once('response', (res) => {
        res.resume();
        reject(new Error(`${shown}: HTTP ${res.statusCode}`));
      });
      req.once('upgrade', (_res, socket: Socket, head: Buffer) => {
        const s = new BenchSocket(socket);
        if (!firstFrame) resolve(s);
        else {
          s.onFrame = (data) => {
            s.onFrame = () => {};
            const text = data.toString();
            if (text.startsWith(firstFrame)) resolve(s);
            else reject(new Error(`unexpected first frame: ${text.slice(0, 200)}`));
          };
        }
        if (head.length > 0) s.read(head);
      });
      req.end();
    });
  }

  send(text: string): void {
    this.tally.sent++;
    this.tally.bytesSent += text.length;
    this.socket.write(textFrames([text]));
  }

  /** Sends frames back to back in one TCP write, as a browser's ICE trickle often arrives. */
  sendAll(texts: readonly string[]): void {
    this.tally.sent += texts.length;
    for (const t of texts) this.tally.bytesSent += t.length;
    this.socket.write(textFrames(texts));
  }

  close(): void {
    this.socket.destroy();
  }

  /** Splits what arrived into frames; servers send them unmasked and unfragmented. */
  private read(chunk: Buffer): void {
    const buf = this.partial ? Buffer.concat([this.partial, chunk]) : chunk;
    this.partial = null;
    let at = 0;
    while (buf.length - at >= 2) {
      const b0 = buf[at]!;
      const b1 = buf[at + 1]!;
      let length = b1 & 0x7f;
      let start = at + 2;
      if (length === 126) {
        if (buf.length - at < 4) break;
        length = buf.readUInt16BE(at + 2);
        start = at + 4;
      } else if (length === 127) {
        if (buf.length - at < 10) break;
        length = Number(buf.readBigUInt64BE(at + 2));
        start = at + 10;
      }
      if (buf.length < start + length) break;
      at = start + length;
      if ((b0 & FIN) === 0 || (b1 & MASKED) !== 0) {
        this.socket.destroy(new Error('fragmented or masked frame from the server'));
        return;
      }
      this.frame(b0 & 0x0f, buf.subarray(start, at));
    }
    if (at < buf.length) this.partial = buf.subarray(at);
  }

  private frame(opcode: number, payload: Buffer): void {
    if (opcode === OP_TEXT || opcode === OP_BINARY) {
      this.tally.received++;
      this.tally.bytesReceived += payload.length;
      this.onFrame(payload);
    } else if (opcode === OP_PING) {
      const pong = Buffer.allocUnsafe(headerBytes(payload.length) + payload.length);
      payload.copy(pong, header(pong, 0, OP_PONG, payload.length));
      this.socket.write(pong);
    } else if (opcode === OP_CLOSE) {
      this.socket.end();
    }
  }
}

/** Opens every url with lean clients, `concurrency` handshakes at a time. */
export function openAll(
  urls: readonly string[],
  firstFrame?: string,
  concurrency = 128,
): Promise<BenchSocket[]> {
  return openEach(BenchSocket.open, urls, firstFrame, concurrency);
}

/** Opens every url with `open`, `concurrency` at a time. Closes what it opened on failure. */
export async function openEach<C extends BenchClient>(
  open: (url: string, firstFrame?: string) => Promise<C>,
  urls: readonly string[],
  firstFrame?: string,
  concurrency = 128,
): Promise<C[]> {
  const out = new Array<C>(urls.length);
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < urls.length && failed === undefined) {
      const i = next++;
      try {
        out[i] = await open(urls[i]!, firstFrame);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, worker));
  if (failed !== undefined) {
    for (const s of out) s?.close();
    throw failed instanceof Error ? failed : new Error('connect failed');
  }
  return out;
}

/** Sums the tallies of `sockets` (after a phase, before they are reused). */
export function sumTallies(sockets: readonly BenchClient[]): Tally {
  const t = newTally();
  for (const s of sockets) {
    t.sent += s.tally.sent;
    t.received += s.tally.received;
    t.bytesSent += s.tally.bytesSent;
    t.bytesReceived += s.tally.bytesReceived;
  }
  return t;
}

/** Gives every socket a fresh tally. */
export function resetTallies(sockets: readonly BenchClient[]): void {
  for (const s of sockets) s.tally = newTally();
}
