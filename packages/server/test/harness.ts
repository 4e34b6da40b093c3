import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, type RawData } from 'ws';
import { pino, type Logger } from 'pino';
import { createApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config/index.ts';
import type { EndReason, Media } from '@parley/protocol';

/** Endpoint of each dialect. */
export const ENDPOINT = {
  native: '/ws',
  video_call: '/ws/video-call',
  chat: '/ws/chat',
  room: '/ws/room',
} as const;
export type DialectKey = keyof typeof ENDPOINT;

type Tree = Record<string, unknown>;

/**
 * A Parley node on a random port with its own data dir, for one test file; in cluster mode
 * (`useCluster()`), three nodes behind nginx that look like one.
 */
export interface TestServer {
  /** The node (in cluster mode the first one; the database is shared). */
  app: App;
  /** Every node: `[app]` on a single node. */
  apps: App[];
  /** `ws://127.0.0.1:<port>` */
  wsBase: string;
  /** `http://127.0.0.1:<port>` */
  httpBase: string;
  token(
    userId: string,
    opts?: { name?: string; ttlSec?: number; grants?: string[] },
  ): Promise<string>;
  /** `opts.grants` go into the token (e.g. `['voice']` for ROOM offers); `name` defaults to USERID. */
  connect(
    userId: string,
    dialect?: DialectKey,
    clientType?: string,
    opts?: { grants?: string[]; name?: string },
  ): Promise<TestClient>;
  close(): Promise<void>;
}

/** The cluster settings of every node, once `useCluster()` was called; null: a single node. */
let cluster: Tree | null = null;

/**
 * From now on `startServer()` starts a three-node cluster behind nginx instead (Redis,
 * PostgreSQL, nginx): the suites under test/cluster/ run the same scenarios that way.
 * `settings` go into every node's `cluster` configuration (e.g. `{ meetingsSpan: false }`).
 */
export function useCluster(settings: Tree = {}): void {
  cluster = settings;
}

/** How a test's node runs besides its configuration. */
export interface ServerOptions {
  /** The node's logger (e.g. one writing to a LogCapture); default silent (or `TEST_LOG`). */
  log?: Logger;
}

/**
 * Starts a node; `overrides` go over the defaults (e.g. `{ calls: { inviteTtlMs: 300 } }`).
 * `options.log` is for a single node: the cluster's nodes keep their own loggers.
 */
export async function startServer(
  overrides: Tree = {},
  options: ServerOptions = {},
): Promise<TestServer> {
  if (cluster) {
    return (await import('./cluster-harness.ts')).startCluster({
      ...overrides,
      cluster: { ...cluster, ...(overrides.cluster as Tree | undefined) },
    });
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-test-'));
  const config = loadConfig(
    { PARLEY_JWT_SECRET: 'test-secret-test-secret-0123456789' },
    { server: { port: 0 }, dataDir, calls: { disconnectGraceMs: 200 }, ...overrides },
  );
  const app = await createApp(config, {
    log: options.log ?? pino({ level: process.env.TEST_LOG ?? 'silent' }),
  });
  const addr = await app.listen();
  return serving([app], `127.0.0.1:${addr.port}`, async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
}

/**
 * The TestServer of `apps` reached at `hostPort` (the node itself, or nginx in front of the
 * nodes): clients connect there and are closed first on `close()`, then `teardown` runs.
 */
export function serving(apps: App[], hostPort: string, teardown: () => Promise<void>): TestServer {
  const app = apps[0]!;
  const clients: TestClient[] = [];
  const server: TestServer = {
    app,
    apps,
    wsBase: `ws://${hostPort}`,
    httpBase: `http://${hostPort}`,
    token: (userId, opts) => app.auth.mint(userId, opts),
    async connect(userId, dialect = 'native', clientType = 'web', opts = {}) {
      const token = await app.auth.mint(userId, { name: userId.toUpperCase(), ...opts });
      const c = await TestClient.open(
        `${server.wsBase}${ENDPOINT[dialect]}?token=${token}&clientType=${clientType}`,
      );
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      await teardown();
    },
  };
  return server;
}

/** A parsed frame as the server sent it. */
export type Frame = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A WebSocket client that queues every frame it receives, so tests can wait for the next frame
 * matching a predicate and assert that nothing else arrived.
 */
export class TestClient {
  readonly frames: Frame[] = [];
  private waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  closed: { code: number; reason: string } | null = null;
  private closeWaiters: Array<(c: { code: number; reason: string }) => void> = [];
  private subscribers: Array<{ match: (f: Frame) => boolean; handler: (f: Frame) => void }> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const f = (
        isBinary ? { binary: data } : JSON.parse((data as Buffer).toString('utf8'))
      ) as Frame;
      const i = this.waiters.findIndex((w) => w.match(f));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(f);
      else if (!this.deliver(f)) this.frames.push(f);
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      for (const w of this.closeWaiters) w(this.closed);
    });
  }

  /** `headers`: sent with the upgrade request (User-Agent, X-Forwarded-For, ...). */
  static open(url: string, headers?: Record<string, string>): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, headers ? { headers } : {});
      const c = new TestClient(ws);
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  send(frame: unknown): void {
    this.ws.send(
      typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame),
    );
  }

  /**
   * The next frame matching `match` (already received or still to come). The default bound is
   * for a frame that must come: generous, since 3 s was outlasted by an answer at load 12-15.
   */
  next(match: (f: Frame) => boolean = () => true, timeoutMs = 20_000): Promise<Frame> {
    const i = this.frames.findIndex(match);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve: (f: Frame) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(
          new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`),
        );
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** The next native frame of `type`. */
  nextType(type: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.type === type, timeoutMs);
  }

  /** The next video_call frame whose data.type is `type`. */
  nextVc(type: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.type === 'video_call' && f.data?.type === type, timeoutMs);
  }

  /** Sends a native command with a requestId and waits for its ok or error. */
  async request(type: string, data: unknown): Promise<Frame> {
    const requestId = Math.random().toString(36).slice(2);
    this.send({ type, data, requestId });
    return this.next((f) => f.requestId === requestId);
  }

  /**
   * Hands every frame matching `match` to `handler` (the queued ones at once, later ones as they
   * arrive, in order) instead of queueing it; `next()` waiters still take precedence. Returns the
   * unsubscribe function.
   */
  subscribe(match: (f: Frame) => boolean, handler: (f: Frame) => void): () => void {
    const sub = { match, handler };
    this.subscribers.push(sub);
    for (const f of this.frames.filter(match)) {
      this.frames.splice(this.frames.indexOf(f), 1);
      handler(f);
    }
    return () => {
      this.subscribers = this.subscribers.filter((x) => x !== sub);
    };
  }

  private deliver(f: Frame): boolean {
    const sub = this.subscribers.find((s) => s.match(f));
    sub?.handler(f);
    return sub !== undefined;
  }

  /** Resolves when the socket closes. */
  waitClose(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
      this.closeWaiters.push((c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
  }

  /** Waits `ms` and returns whatever arrived unclaimed meanwhile. */
  async quiet(ms = 150): Promise<Frame[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.frames.splice(0);
  }

  close(): void {
    this.ws.close();
  }
}

/** What `until` resolves with: a value its check returned that counts as true. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/**
 * Polls `check` every `everyMs` until it returns something truthy, and returns that; fails
 * saying `what` after `timeoutMs` (a bound for two shared, loaded cores, not a budget).
 */
export async function until<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Frames of `type` about call `callId` (the record event carries it inside the record). */
export const of =
  (type: string, callId: string) =>
  (f: Frame): boolean =>
    f.type === type && (f.data?.callId ?? f.data?.record?.callId) === callId;

/** Sends a native command and asserts that it was taken (a request that fails names it). */
export async function ok(c: TestClient, type: string, data: unknown): Promise<Frame> {
  const r = await c.request(type, data).catch((err: unknown) => {
    throw new Error(`${type}: ${(err as Error).message}`);
  });
  assert.equal(r.type, 'ok', `${type}: ${JSON.stringify(r)}`);
  return r;
}

/** Nothing has come to any of `clients` that the test has not taken. */
export async function quiet(...clients: TestClient[]): Promise<void> {
  const rest = await Promise.all(clients.map((c) => c.quiet()));
  rest.forEach((frames, i) => assert.deepEqual(frames, [], `client ${i} got unexpected frames`));
}

/** A 1:1 call under test: the server that records it, its id and who and what it is between. */
export interface Call {
  srv: TestServer;
  callId: string;
  caller: string;
  callee: string;
  media: Media;
}

/** The client types of each party's devices, in the order they connect, and the media. */
interface CallSetup<F extends string[], T extends string[]> {
  /** The caller's devices, the first of which places the call; default one web device. */
  from?: [...F];
  /** The callee's devices; default a web and an ios one. */
  to?: [...T];
  /** Default video. */
  media?: Media;
}

/** One connected device per client type in `T`. */
type Devices<T extends string[]> = { [K in keyof T]: TestClient };

/** Places a call in one dialect from `from`; resolves to its id once every `to` device rings. */
type Ring = (
  from: TestClient,
  to: TestClient[],
  call: Omit<Call, 'srv' | 'callId'>,
) => Promise<string>;

/**
 * How the tests of `dialect` start a call: connect the caller's devices, then the callee's, one
 * at a time (in cluster mode consecutive clients land on different nodes, so this order decides
 * which devices share one), then `ring`.
 */
export function callStarter(dialect: DialectKey, ring: Ring) {
  return async <F extends string[] = ['web'], T extends string[] = ['web', 'ios']>(
    srv: TestServer,
    caller: string,
    callee: string,
    setup: CallSetup<F, T> = {},
  ) => {
    const connect = async (userId: string, types: string[]) => {
      const devices: TestClient[] = [];
      for (const t of types) devices.push(await srv.connect(userId, dialect, t));
      return devices;
    };
    const from = await connect(caller, setup.from ?? ['web']);
    const to = await connect(callee, setup.to ?? ['web', 'ios']);
    const parties = { caller, callee, media: setup.media ?? 'video' };
    const callId = await ring(from[0]!, to, parties);
    const call: Call = { srv, callId, ...parties };
    // The caller's devices, then the callee's, as they connected.
    const devices = [...from, ...to] as [...Devices<F>, ...Devices<T>];
    return { call, callId, devices };
  };
}

/**
 * How a dialect's tests check the end of a call: `events` checks that every client in `told`
 * got the call's record event with this outcome (and returns the records, in the dialect's
 * shape); the stored row must agree too.
 */
export function recordCheck(
  events: (told: TestClient[], call: Call, status: string, reason: EndReason) => Promise<Frame[]>,
) {
  return async (
    call: Call,
    told: TestClient[],
    status: string,
    reason: EndReason,
    answered: ExpectedRow['answered'],
  ): Promise<Frame[]> => {
    const records = await events(told, call, status, reason);
    const { srv, callId, ...parties } = call;
    await expectRecordRow(srv, callId, { ...parties, reason, answered });
    return records;
  };
}

/** The `call_records` row of one call, read straight from the database (undefined if none). */
export function recordRow(srv: TestServer, callId: string) {
  return srv.app.db.kysely
    .selectFrom('call_records')
    .selectAll()
    .where('call_id', '=', callId)
    .executeTakeFirst();
}

/** What a finished call's `call_records` row must hold. */
export interface ExpectedRow {
  caller: string;
  callee: string;
  media: Media;
  reason: EndReason;
  /** The device that answered (deviceId when the test knows it), or null if never answered. */
  answered: { clientType: string; deviceId?: string } | null;
}

/**
 * Asserts the stored row of a finished call: end reason, spec status (0 invite, 2 reject/busy,
 * 3 hangup after answer, as `specStatus`), call_type, answering device, ring_ms and times.
 */
export async function expectRecordRow(srv: TestServer, callId: string, want: ExpectedRow) {
  const row = await recordRow(srv, callId);
  assert.ok(row, `no call_records row for ${callId}`);
  const answered = want.answered !== null;
  const status = answered ? 3 : want.reason === 'rejected' || want.reason === 'busy' ? 2 : 0;
  assert.equal(row.caller_id, want.caller, 'caller_id');
  assert.equal(row.callee_id, want.callee, 'callee_id');
  assert.equal(row.end_reason, want.reason, 'end_reason');
  assert.equal(row.status, status, 'status');
  assert.equal(row.call_type, want.media === 'audio' ? 1 : 2, 'call_type');
  assert.equal(row.media, want.media, 'media');
  assert.equal(row.answered_client_type, want.answered?.clientType ?? null, 'answered_client_type');
  if (want.answered?.deviceId) assert.equal(row.answered_device, want.answered.deviceId);
  else if (!answered) assert.equal(row.answered_device, null, 'answered_device');
  else assert.ok(row.answered_device, 'answered_device');
  assert.equal(typeof row.ring_ms, 'number', 'ring_ms is set');
  assert.ok(row.ring_ms! >= 0, 'ring_ms >= 0');
  assert.ok(row.end_time, 'end_time is set');
  const created = Date.parse(row.created_at);
  const ended = Date.parse(row.end_time);
  assert.ok(ended >= created, 'end_time >= created_at');
  if (answered) {
    assert.ok(row.start_time, 'start_time is set for an answered call');
    assert.ok(Date.parse(row.start_time) >= created && Date.parse(row.start_time) <= ended);
  } else {
    assert.equal(row.start_time, null, 'start_time');
    assert.equal(row.duration, 0, 'duration');
  }
  return row;
}
