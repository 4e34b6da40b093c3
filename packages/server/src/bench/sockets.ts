import type { Socket } from 'node:net';
import { WebSocket, type RawData } from 'ws';

/** Frames sent and received by a group of sockets during one measurement. */
export interface Tally {
  sent: number;
  received: number;
  bytesSent: number;
  bytesReceived: number;
}

export const newTally = (): Tally => ({ sent: 0, received: 0, bytesSent: 0, bytesReceived: 0 });

/**
 * Client frames must be masked, but the key is the client's choice: an all-zero key makes `ws`
 * skip the XOR on this side (the server unmasks as usual). It keeps the load generator cheap so
 * that it, not the server under test, has spare CPU. Harmless on loopback.
 */
const zeroMask = (mask: Buffer): void => {
  mask.fill(0);
};

/**
 * One bench client: counts frames into the current tally and hands each frame's bytes to
 * `onFrame`, which the phases replace as they drive the socket through their scenarios (the
 * relay reads what it needs from the bytes without decoding a string per frame).
 */
export class BenchSocket {
  tally: Tally = newTally();
  onFrame: (data: Buffer) => void = () => {};
  private constructor(
    readonly ws: WebSocket,
    /** The TCP socket under `ws`, to cork several frames into one write (an ICE burst). */
    private readonly socket: Socket,
  ) {
    ws.on('message', (data: RawData) => {
      this.tally.received++;
      this.tally.bytesReceived += (data as Buffer).length;
      this.onFrame(data as Buffer);
    });
    ws.on('error', () => {});
  }

  /**
   * Opens a socket; resolves once it is open and, when `firstFrame` is given, that frame has
   * arrived (PeerJS says `{"type":"OPEN"}` before it accepts messages).
   */
  static open(url: string, firstFrame?: string): Promise<BenchSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        perMessageDeflate: false,
        generateMask: zeroMask,
        // The servers under test validate what they receive; the load generator trusts them.
        skipUTF8Validation: true,
        handshakeTimeout: 30_000,
      });
      const fail = (err: Error) => reject(err);
      let socket: Socket | undefined;
      ws.once('upgrade', (res) => (socket = res.socket));
      ws.once('error', fail);
      ws.once('unexpected-response', (_req, res) =>
        fail(new Error(`${url.replace(/token=[^&]+/, 'token=…')}: HTTP ${res.statusCode}`)),
      );
      ws.once('open', () => {
        ws.off('error', fail);
        const s = new BenchSocket(ws, socket!);
        if (!firstFrame) return resolve(s);
        s.onFrame = (data) => {
          s.onFrame = () => {};
          const text = data.toString();
          if (text.startsWith(firstFrame)) resolve(s);
          else reject(new Error(`unexpected first frame: ${text.slice(0, 200)}`));
        };
      });
    });
  }

  send(text: string): void {
    this.tally.sent++;
    this.tally.bytesSent += text.length;
    this.ws.send(text);
  }

  /** Sends frames back to back in one TCP write, as a browser's ICE trickle often arrives. */
  sendAll(frames: readonly string[]): void {
    this.socket.cork();
    for (const f of frames) this.send(f);
    this.socket.uncork();
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Opens every url, `concurrency` handshakes at a time. Closes what it opened on failure. */
export async function openAll(
  urls: readonly string[],
  firstFrame?: string,
  concurrency = 128,
): Promise<BenchSocket[]> {
  const out = new Array<BenchSocket>(urls.length);
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < urls.length && failed === undefined) {
      const i = next++;
      try {
        out[i] = await BenchSocket.open(urls[i]!, firstFrame);
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
export function sumTallies(sockets: readonly BenchSocket[]): Tally {
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
export function resetTallies(sockets: readonly BenchSocket[]): void {
  for (const s of sockets) s.tally = newTally();
}
