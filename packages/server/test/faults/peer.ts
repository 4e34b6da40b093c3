import { WebSocket, type RawData } from 'ws';

/** A parsed native frame. */
export type Frame = { type: string; requestId?: string; data?: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Why a wait ended without its frame: the socket closed, or time ran out. */
export class PeerGone extends Error {}

/**
 * A native-dialect client for the fault drivers: unlike the tests' TestClient, every wait
 * fails as soon as its socket closes (a killed server answers nothing), and frames nobody
 * waits for are dropped rather than queued (the drivers run for minutes).
 */
export class Peer {
  private waiters: Array<{ match: (f: Frame) => boolean; done: (f: Frame | PeerGone) => void }> =
    [];
  private seq = 0;
  /** Called with every `call:ice` that arrives (the drivers measure relay latency on it). */
  onIce: ((f: Frame) => void) | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData) => this.onMessage(data));
    ws.on('close', () => this.fail(new PeerGone('socket closed')));
    ws.on('error', () => undefined);
  }

  /** Opens a socket to `url`; rejects on refusal or when nothing answers within `timeoutMs`. */
  static open(url: string, timeoutMs = 5000): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { handshakeTimeout: timeoutMs });
      ws.once('open', () => resolve(new Peer(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => {
        ws.terminate();
        reject(new PeerGone(`HTTP ${res.statusCode}`));
      });
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: unknown): void {
    if (this.open) this.ws.send(JSON.stringify(frame));
  }

  /** The next frame matching `match`, or PeerGone on close or timeout. */
  next(match: (f: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    if (!this.open) return Promise.reject(new PeerGone('socket closed'));
    return new Promise((resolve, reject) => {
      const w = {
        match,
        done: (f: Frame | PeerGone) => {
          clearTimeout(timer);
          if (f instanceof PeerGone) reject(f);
          else resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new PeerGone(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Sends a command with a requestId; resolves with its `ok` data, rejects on an error. */
  async request(type: string, data: unknown, timeoutMs?: number): Promise<Frame['data']> {
    const f = await this.ask(type, data, timeoutMs);
    if (f.type !== 'ok') throw new Error(`${type}: ${JSON.stringify(f)}`);
    return f.data;
  }

  /** Sends a request with a requestId; resolves with whatever answers it. */
  ask(type: string, data: unknown, timeoutMs?: number): Promise<Frame> {
    const requestId = `r${++this.seq}`;
    const answer = this.next((f) => f.requestId === requestId, timeoutMs);
    this.send({ type, data, requestId });
    return answer;
  }

  close(): void {
    this.ws.terminate();
  }

  private onMessage(data: RawData): void {
    const f = JSON.parse((data as Buffer).toString('utf8')) as Frame;
    if (f.type === 'call:ice' && this.onIce) this.onIce(f);
    const i = this.waiters.findIndex((w) => w.match(f));
    if (i >= 0) this.waiters.splice(i, 1)[0]!.done(f);
  }

  private fail(err: PeerGone): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.done(err);
  }
}
