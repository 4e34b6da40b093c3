import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { createApp, loadConfig } from '@parley/server';
import { PeerServer } from 'peer';
import pino from 'pino';
import { srflxCandidate } from './payloads.ts';

/**
 * One server's own work per relayed ICE message, without the kernel: run by `parley bench`'s
 * `path` phase in a child process of its own (argv: `parley` or `peerjs`, messages per round,
 * rounds), with the Node flags the server runs with. Two devices of a call (Parley) or two
 * peers (PeerJS) are connected over sockets that exist only in this process (FakeSocket): the
 * server's HTTP server gets their upgrade as from a real client, and everything from the
 * WebSocket frame to the relayed frame's write runs as it does on a real socket (Node's stream
 * layer included), except the read and write syscalls and what the kernel does for them,
 * which cost both servers alike. Prints one JSON line: {@link PathRun}.
 */

/** What one child measured. */
export interface PathRun {
  server: 'parley' | 'peerjs';
  /** Nanoseconds per relayed message, one figure per timed round. */
  nsPerMsg: number[];
  /** Messages sent in the timed rounds, and relayed frames written to the other side. */
  sent: number;
  relayed: number;
  /** Bytes of the ICE message's JSON and of the frame it was relayed as. */
  inBytes: number;
  outBytes: number;
}

/**
 * A TCP socket as far as the servers use one: the bytes it is handed are what a client sent,
 * and what the server writes is kept (parsed by `texts`) until `sink()`, then only counted.
 */
class FakeSocket extends Duplex {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 40_000;
  private out: Buffer[] | null = [];
  /** Writes since `sink()`. */
  writes = 0;

  setNoDelay(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.took([chunk]);
    done();
  }
  // A corked burst (`ws` writes a frame's header and payload so) is one write, as on a TCP socket.
  override _writev(chunks: Array<{ chunk: Buffer }>, done: () => void): void {
    this.took(chunks.map((c) => c.chunk));
    done();
  }
  private took(chunks: Buffer[]): void {
    if (this.out) this.out.push(...chunks.map((c) => Buffer.from(c)));
    else this.writes++;
  }
  /** From now on writes are counted, not kept. */
  sink(): void {
    this.out = null;
  }
  /** The text frames written since the last call (after the HTTP response, if any). */
  texts(): string[] {
    const all = Buffer.concat(this.out ?? []);
    this.out = [];
    const http = all.subarray(0, 5).toString() === 'HTTP/';
    let at = http ? all.indexOf('\r\n\r\n') + 4 : 0;
    const texts: string[] = [];
    while (at + 2 <= all.length) {
      let length = all[at + 1]! & 0x7f;
      let head = 2;
      if (length === 126) {
        length = all.readUInt16BE(at + 2);
        head = 4;
      }
      if ((all[at]! & 0x0f) === 0x1)
        texts.push(all.toString('utf8', at + head, at + head + length));
      at += head + length;
    }
    return texts;
  }
}

/** A client's text frame, masked with a random key as a browser's is. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const head = payload.length < 126 ? 2 : 4;
  const frame = Buffer.allocUnsafe(head + 4 + payload.length);
  frame[0] = 0x81;
  if (head === 2) frame[1] = 0x80 | payload.length;
  else {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(payload.length, 2);
  }
  const mask = randomBytes(4);
  mask.copy(frame, head);
  for (let i = 0; i < payload.length; i++) frame[head + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

/** A client whose WebSocket upgrade `server` is handed, as its HTTP server would be. */
function connect(server: Server, path: string): FakeSocket {
  const socket = new FakeSocket();
  const req = new IncomingMessage(socket as never);
  req.method = 'GET';
  req.url = path;
  req.headers = {
    host: '127.0.0.1',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': randomBytes(16).toString('base64'),
    'sec-websocket-version': '13',
  };
  server.emit('upgrade', req, socket, Buffer.alloc(0));
  return socket;
}

type Json = Record<string, unknown>;

/** A server-reflexive candidate: an ICE message of it is about 300 bytes, as in the open loop. */
const CANDIDATE = srflxCandidate(1);

/** The next text frame written to `socket` that `match`es (set-up steps answer at their pace). */
async function frameOf(socket: FakeSocket, match: (f: Json) => boolean): Promise<Json> {
  const seen: string[] = [];
  for (let waited = 0; waited < 10_000; waited += 10) {
    for (const text of socket.texts()) {
      const f = JSON.parse(text) as Json;
      if (match(f)) return f;
      seen.push(text);
    }
    await delay(10);
  }
  throw new Error(`no such frame within 10 s; got ${seen.join(' ')}`);
}

/** A call between alice and bob on a fresh Parley; the ICE message alice sends in it. */
async function parleyPair(): Promise<Pair> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-path-'));
  const config = loadConfig(
    { PARLEY_JWT_SECRET: randomBytes(24).toString('base64url') },
    // The default limits, but for the relayed-signaling budget: a round sends tens of thousands
    // of messages a second from one user. The limiter's work per message is the same.
    { dataDir, limits: { signalRatePerSec: 1e9, signalRateBurst: 1e9 } },
  );
  const app = await createApp(config, { log: pino({ level: 'silent' }) });
  const token = (userId: string) => app.auth.mint(userId, { ttlSec: 3600 });
  const alice = connect(app.server, `/ws?token=${await token('alice')}`);
  const bob = connect(app.server, `/ws?token=${await token('bob')}`);
  const send = (s: FakeSocket, f: Json) => s.push(clientFrame(JSON.stringify(f)));
  // Bob is online once his upgrade is through and presence has him: until then an invite
  // ends at once as missed (offline), and is made again.
  for (let attempt = 1; ; attempt++) {
    send(alice, { type: 'call:invite', data: { callee: 'bob', media: 'video' } });
    const f = await frameOf(alice, (x) => x.type === 'call:ringing' || x.type === 'call:record');
    if (f.type === 'call:ringing') break;
    if (attempt === 100) throw new Error('bob never came online');
    await delay(10);
  }
  const { callId } = (await frameOf(bob, (f) => f.type === 'call:incoming')).data as Json;
  send(bob, { type: 'call:accept', requestId: '2', data: { callId } });
  await frameOf(alice, (f) => f.type === 'call:accepted');
  send(alice, { type: 'call:offer', data: { callId, sdp: 'v=0' } });
  await frameOf(bob, (f) => f.type === 'call:offer');
  return {
    from: alice,
    to: bob,
    ice: JSON.stringify({ type: 'call:ice', data: { callId, candidate: CANDIDATE } }),
    relayedType: 'call:ice',
    candidateOf: (f) => (f.data as Json).candidate,
    close: async () => {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Peers A and B of the PeerJS server, with its defaults; the candidate A sends to B. */
async function peerJsPair(): Promise<Pair> {
  const server = await new Promise<Server>((resolve) => {
    PeerServer({ port: 0, host: '127.0.0.1', path: '/', key: 'peerjs' }, resolve);
  });
  const a = connect(server, '/peerjs?key=peerjs&id=A&token=a');
  const b = connect(server, '/peerjs?key=peerjs&id=B&token=b');
  await frameOf(a, (f) => f.type === 'OPEN');
  await frameOf(b, (f) => f.type === 'OPEN');
  const payload = { candidate: CANDIDATE, type: 'media', connectionId: 'mc_0123456789ab' };
  return {
    from: a,
    to: b,
    ice: JSON.stringify({ type: 'CANDIDATE', dst: 'B', payload }),
    relayedType: 'CANDIDATE',
    candidateOf: (f) => (f.payload as Json).candidate,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Pair {
  from: FakeSocket;
  to: FakeSocket;
  /** The text of the ICE message `from` sends. */
  ice: string;
  /** The type of the frame `to` gets for it, and where that frame has the candidate. */
  relayedType: string;
  candidateOf(frame: Json): unknown;
  close(): Promise<void>;
}

/** Copies of the frame, cycled through so that no one buffer stays hot in the cache. */
const COPIES = 64;

async function measure(server: PathRun['server'], messages: number, rounds: number) {
  const pair = server === 'parley' ? await parleyPair() : await peerJsPair();
  const { from, to, ice } = pair;
  from.push(clientFrame(ice));
  const relayed = await frameOf(to, (f) => f.type === pair.relayedType);
  if (!isDeepStrictEqual(pair.candidateOf(relayed), CANDIDATE)) {
    throw new Error(`${server} relayed another candidate: ${JSON.stringify(relayed)}`);
  }
  const outBytes = Buffer.byteLength(JSON.stringify(relayed));
  to.sink();
  from.sink();
  const frames = Array.from({ length: COPIES }, () => clientFrame(ice));
  const masked = frames.map((f) => Buffer.from(f));
  const nsPerMsg: number[] = [];
  // The first two rounds warm up (V8 optimises the path), and are not reported.
  for (let round = -2; round < rounds; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < messages; i++) {
      const k = i % COPIES;
      // A reader unmasks a frame where it lies: each push gets the masked bytes again (the
      // same 300-byte copy for both servers).
      masked[k]!.copy(frames[k]!);
      from.push(frames[k]!);
      // Back to the event loop now and then, as a server is after every read: what the servers
      // leave to `nextTick` or `setImmediate` runs in its time, not piled up over a round.
      if (k === COPIES - 1) await new Promise((resolve) => setImmediate(resolve));
    }
    const ns = Number(process.hrtime.bigint() - start) / messages;
    if (round >= 0) nsPerMsg.push(ns);
  }
  const run: PathRun = {
    server,
    nsPerMsg,
    sent: messages * (rounds + 2),
    relayed: to.writes,
    inBytes: Buffer.byteLength(ice),
    outBytes,
  };
  await pair.close();
  return run;
}

const [server, messages, rounds] = process.argv.slice(2);
if (server !== 'parley' && server !== 'peerjs') throw new Error(`unknown server ${server}`);
const run = await measure(server, Number(messages ?? 50_000), Number(rounds ?? 5));
process.stdout.write(`${JSON.stringify(run)}\n`);
process.exit(0);
