import assert from 'node:assert/strict';
import { io, type Socket } from 'socket.io-client';
import { loadConfig } from '../src/config/index.ts';
import { requireWorkerBin } from '../src/sfu/pool.kit.ts';
import {
  startServer,
  TestClient,
  type Frame,
  type ServerOptions,
  type TestServer,
} from './harness.ts';

/**
 * Helpers for the meeting tests: a server whose SFU has a real mediasoup worker, REST calls,
 * and signaling clients over raw WebSocket and socket.io.
 */

/** The mediasoup worker binary; throws how to get it when it is missing (never skips). */
export function workerBin(): string {
  return requireWorkerBin(process.env.MEDIASOUP_WORKER_BIN ?? loadConfig({}).sfu.workerBin);
}

type Tree = Record<string, unknown>;

/** A Parley node with one SFU worker (tests share two cores). `sfu` goes over that. */
export function startMeetingServer(
  overrides: Tree = {},
  sfu: Tree = {},
  options: ServerOptions = {},
): Promise<TestServer> {
  return startServer(
    { ...overrides, sfu: { workers: 1, workerBin: workerBin(), emptyRoomGraceMs: 60_000, ...sfu } },
    options,
  );
}

/** A REST response. */
export interface Rest {
  status: number;
  body: Frame;
}

/** What a REST call needs of a node: where it is and a token of the user calling. */
export type RestTarget = Pick<TestServer, 'httpBase' | 'token'>;

/** Calls the REST API as `userId`. */
export async function rest(
  srv: RestTarget,
  userId: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<Rest> {
  const token = await srv.token(userId, { name: userId.toUpperCase() });
  const res = await fetch(`${srv.httpBase}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Frame };
}

/** Creates a meeting hosted by `host`; returns its id. */
export async function createMeeting(srv: RestTarget, host: string): Promise<string> {
  const r = await rest(srv, host, 'POST', '/api/meetings', { title: 'standup' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.data.meetingId as string;
}

/** Joins users to a meeting through REST. */
export async function joinMeeting(srv: RestTarget, meetingId: string, ...users: string[]) {
  for (const u of users) {
    const r = await rest(srv, u, 'POST', `/api/meetings/${meetingId}/join`, { nickname: u });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
}

/** A signaling connection on `/ws/meeting` (or another endpoint, e.g. the native `/ws`). */
export async function meetingWs(
  srv: TestServer,
  userId: string,
  path = '/ws/meeting',
): Promise<TestClient> {
  const token = await srv.token(userId, { name: userId.toUpperCase() });
  return TestClient.open(`${srv.wsBase}${path}?token=${token}`);
}

/** The signaling calls a meeting test makes, whatever carries them. */
export interface Signaling {
  /** Sends a request and resolves with its response (success or rtc:error). */
  request(type: string, data: unknown): Promise<Frame>;
  /** The next event of `type` (already received or still to come), as `{type, data}`. */
  event(type: string, timeoutMs?: number): Promise<Frame>;
  close(): void;
}

/** Raw WebSocket signaling. */
export function wsSignaling(c: TestClient): Signaling {
  return {
    request: (type, data) => c.request(type, data),
    event: (type, timeoutMs) =>
      c.next((f) => f.type === type && f.requestId === undefined, timeoutMs),
    close: () => c.close(),
  };
}

/** A socket.io client of the meeting dialect, queueing events like TestClient. */
export class SioClient implements Signaling {
  private readonly events: Frame[] = [];
  private waiters: Array<{ type: string; resolve: (f: Frame) => void }> = [];

  private constructor(readonly socket: Socket) {
    socket.onAny((type: string, data: unknown) => {
      const f = { type, data } as Frame;
      const i = this.waiters.findIndex((w) => w.type === type);
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(f);
      else this.events.push(f);
    });
  }

  /** Connects with the token in the handshake's `auth`. */
  static async open(srv: TestServer, userId: string, auth?: Record<string, unknown>) {
    const token = await srv.token(userId, { name: userId.toUpperCase() });
    const socket = io(srv.httpBase, {
      path: '/socket.io/',
      transports: ['websocket'],
      auth: auth ?? { token },
      reconnection: false,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return new SioClient(socket);
  }

  request(type: string, data: unknown): Promise<Frame> {
    return this.socket.timeout(10_000).emitWithAck(type, data) as Promise<Frame>;
  }

  event(type: string, timeoutMs = 5000): Promise<Frame> {
    const i = this.events.findIndex((f) => f.type === type);
    if (i >= 0) return Promise.resolve(this.events.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const w = {
        type,
        resolve: (f: Frame) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no ${type} within ${timeoutMs} ms; got ${JSON.stringify(this.events)}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  close(): void {
    this.socket.disconnect();
  }
}

/** Opus RTP parameters as a browser would send them (one SSRC). */
export function audioRtp(ssrc: number): Frame {
  return {
    mid: '0',
    codecs: [
      {
        mimeType: 'audio/opus',
        payloadType: 111,
        clockRate: 48000,
        channels: 2,
        parameters: { useinbandfec: 1 },
        rtcpFeedback: [],
      },
    ],
    headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 }],
    encodings: [{ ssrc }],
    rtcp: { cname: `c${ssrc}`, reducedSize: true },
  };
}

/** VP8 simulcast RTP parameters with three RID encodings, as mediasoup-client sends them. */
export function videoRtp(mid = '1'): Frame {
  return {
    mid,
    codecs: [
      {
        mimeType: 'video/VP8',
        payloadType: 96,
        clockRate: 90000,
        rtcpFeedback: [
          { type: 'nack' },
          { type: 'nack', parameter: 'pli' },
          { type: 'ccm', parameter: 'fir' },
        ],
      },
    ],
    headerExtensions: [
      { uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 },
      { uri: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', id: 2 },
    ],
    encodings: [
      { rid: 'r0', maxBitrate: 100_000, scalabilityMode: 'S1T3' },
      { rid: 'r1', maxBitrate: 300_000, scalabilityMode: 'S1T3' },
      { rid: 'r2', maxBitrate: 1_500_000, scalabilityMode: 'S1T3' },
    ],
    rtcp: { cname: 'video', reducedSize: true },
  };
}

/** A DTLS client role with a well-formed fingerprint (the handshake itself never happens). */
export const DTLS = {
  role: 'client',
  fingerprints: [{ algorithm: 'sha-256', value: Array(32).fill('AB').join(':') }],
};
