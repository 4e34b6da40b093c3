import { WebSocket } from 'ws';
import { BenchSocket, newTally, openEach, type BenchClient } from './sockets.ts';

/**
 * The `ws` package's client as a load generator: what a Node.js client of a signaling server
 * typically runs. It costs the load generator about as much per message as a server, so it
 * can set the pace at saturation; in the open-loop regime, where the offered rate is fixed,
 * it shows the servers under the frame timing a common client produces (each `send` is its
 * own write).
 */
export class WsClient implements BenchClient {
  tally = newTally();
  onFrame: (data: Buffer) => void = () => {};

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.tally.received++;
      this.tally.bytesReceived += data.length;
      this.onFrame(data);
    });
    ws.on('error', () => {});
  }

  /** Opens a client; resolves once open and, when `firstFrame` is given, that frame arrived. */
  static open(this: void, url: string, firstFrame?: string): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      // Browsers offer permessage-deflate; both servers under test decline it.
      const ws = new WebSocket(url, { handshakeTimeout: 30_000 });
      const shown = url.replace(/token=[^&]+/, 'token=…');
      ws.once('error', (err) => reject(new Error(`${shown}: ${err.message}`)));
      ws.once('open', () => {
        const c = new WsClient(ws);
        if (!firstFrame) return resolve(c);
        c.onFrame = (data) => {
          c.onFrame = () => {};
          const text = data.toString();
          if (text.startsWith(firstFrame)) resolve(c);
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

  sendAll(texts: readonly string[]): void {
    for (const t of texts) this.send(t);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Which load generator: the lean RFC 6455 client (sockets.ts) or the `ws` client. */
export type ClientKind = 'lean' | 'ws';

/** Opens every url with clients of `kind`, 128 handshakes at a time. */
export function openClients(
  kind: ClientKind,
  urls: readonly string[],
  firstFrame?: string,
): Promise<BenchClient[]> {
  return kind === 'ws'
    ? openEach(WsClient.open, urls, firstFrame)
    : openEach(BenchSocket.open, urls, firstFrame);
}
