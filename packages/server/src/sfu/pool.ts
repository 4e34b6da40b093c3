import { existsSync } from 'node:fs';
import type * as MediasoupModule from 'mediasoup';
import type { types } from 'mediasoup';
import type { Config } from '../config/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';
import { MEDIA_CODECS } from './codecs.ts';
import { PipeLink } from './pipe-link.ts';

type Mediasoup = typeof MediasoupModule;

/** What the pool needs from the node. */
export interface SfuPoolOptions {
  sfu: Config['sfu'];
  log: Logger;
  metrics: Metrics;
}

/** One worker process and what it carries. */
interface WorkerState {
  readonly index: number;
  readonly worker: types.Worker;
  /** The worker's WebRtcServer when `sfu.webRtcServerPort` is set. */
  readonly server: types.WebRtcServer | null;
  routers: number;
  /** Producers plus consumers: the streams the worker forwards. */
  streams: number;
  /** Consumers alone (of peers and of pipes): what a meeting's consumer budget counts. */
  consumers: number;
}

/** A worker as `/healthz` and tests see it. */
export interface WorkerInfo {
  index: number;
  pid: number;
  routers: number;
  streams: number;
  consumers: number;
}

/** Options of a WebRTC transport that the room decides. */
export interface TransportRequest {
  /** SCTP streams for data channels (the client's sctpCapabilities.numStreams); none: no SCTP. */
  sctp?: types.NumSctpStreams;
  appData: types.AppData;
}

/** A router on one of the pool's workers, with the listen settings of that worker. */
export interface SfuRouter {
  readonly router: types.Router;
  /** The pid of the worker process that carries it. */
  readonly workerPid: number;
  /** A WebRTC transport on the worker's WebRtcServer, or on ports of its own. */
  createWebRtcTransport(req: TransportRequest): Promise<types.WebRtcTransport>;
}

/** How long to wait before spawning a worker again after a failed spawn. */
const RESPAWN_DELAY_MS = 2_000;

/**
 * The mediasoup worker processes (one per core by default). Routers go to the least loaded
 * worker. A worker that dies is replaced at once; mediasoup closes its routers, which tells
 * their rooms. Workers start on first use, or with `start()`.
 */
export class SfuPool {
  private readonly states: Array<WorkerState | null>;
  private readonly respawns = new Set<Promise<void>>();
  private starting: Promise<void> | null = null;
  private mediasoup: Mediasoup | null = null;
  private capabilities: Promise<types.RtpCapabilities> | null = null;
  private closed = false;
  private readonly log: Logger;

  constructor(private readonly o: SfuPoolOptions) {
    this.log = o.log.child({ mod: 'sfu' });
    this.states = new Array<WorkerState | null>(o.sfu.workers).fill(null);
  }

  /** Spawns every worker (idempotent). Rejects with how to get the binary when it is missing. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      this.mediasoup = await loadMediasoup(this.o.sfu.workerBin);
      await Promise.all(this.states.map((_, i) => this.spawn(i)));
      this.log.info(
        { event: 'sfu_started', workers: this.states.length, bin: this.mediasoup.workerBin },
        'mediasoup workers started',
      );
    })();
    return this.starting;
  }

  /**
   * The RTP capabilities of every router of this pool. They follow from the configured codecs
   * alone, so they are read once, from a router opened and closed for the purpose: a client
   * asking for them before it joins opens no router of its own.
   */
  routerRtpCapabilities(): Promise<types.RtpCapabilities> {
    if (!this.capabilities) {
      const reading = (async () => {
        const state = await this.pick();
        const router = await state.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
        const caps = router.rtpCapabilities;
        router.close();
        return caps;
      })();
      this.capabilities = reading;
      // A failure (no live worker) is not kept: the next request tries again.
      reading.catch(() => {
        if (this.capabilities === reading) this.capabilities = null;
      });
    }
    return this.capabilities;
  }

  /**
   * A new router on the least loaded live worker, or on the worker of process `pid` (a meeting
   * spreading to it) while that one lives.
   */
  async createRouter(appData: types.AppData = {}, pid?: number): Promise<SfuRouter> {
    const chosen = this.states.find((s) => s && !s.worker.closed && s.worker.pid === pid);
    const state = chosen ?? (await this.pick());
    const router = await state.worker.createRouter({ mediaCodecs: MEDIA_CODECS, appData });
    const { listenIp, announcedIp } = this.o.sfu;
    const listenIps = [announcedIp ? { ip: listenIp, announcedIp } : { ip: listenIp }];
    return {
      router,
      workerPid: state.worker.pid,
      createWebRtcTransport: ({ sctp, appData: transportAppData }) => {
        const common = {
          enableUdp: true,
          enableTcp: true,
          preferUdp: true,
          initialAvailableOutgoingBitrate: 1_000_000,
          enableSctp: sctp !== undefined,
          ...(sctp ? { numSctpStreams: sctp, maxSctpMessageSize: 262_144 } : {}),
          appData: transportAppData,
        };
        return state.server
          ? router.createWebRtcTransport({ ...common, webRtcServer: state.server })
          : router.createWebRtcTransport({ ...common, listenIps });
      },
    };
  }

  /**
   * One end of a pipe to another node on `router` (see pipe-link.ts and config `sfu.pipe*`);
   * `sctp`: for a data producer.
   */
  openPipe(router: types.Router, sctp = false): Promise<PipeLink> {
    return PipeLink.open(router, this.o.sfu, sctp);
  }

  /** The live workers. */
  workers(): WorkerInfo[] {
    return this.states.flatMap((s) => (s && !s.worker.closed ? [info(s)] : []));
  }

  /** The live worker that a new router would go to now (the least loaded). */
  async leastLoaded(): Promise<WorkerInfo> {
    return info(await this.pick());
  }

  /** CPU time each live worker process has used so far (user + system, ms). */
  async cpuTime(): Promise<Array<{ pid: number; cpuMs: number }>> {
    const live = this.states.filter((s): s is WorkerState => s !== null && !s.worker.closed);
    return Promise.all(
      live.map(async ({ worker }) => {
        const u = await worker.getResourceUsage();
        return { pid: worker.pid, cpuMs: u.ru_utime + u.ru_stime };
      }),
    );
  }

  /** Closes every worker (and with them every router); idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.states) s?.worker.close();
  }

  private async pick(): Promise<WorkerState> {
    await this.start();
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.closed) break;
      let best: WorkerState | null = null;
      for (const s of this.states) {
        if (!s || s.worker.closed) continue;
        if (
          !best ||
          s.streams < best.streams ||
          (s.streams === best.streams && s.routers < best.routers)
        ) {
          best = s;
        }
      }
      if (best) return best;
      // Every worker is being replaced: wait for the replacements once.
      await Promise.allSettled([...this.respawns]);
    }
    throw new Error('no live mediasoup worker');
  }

  /** Spawns the worker of slot `index` (and its WebRtcServer) and watches it. */
  private async spawn(index: number): Promise<void> {
    const ms = this.mediasoup!;
    const { sfu } = this.o;
    const worker = await ms.createWorker({
      logLevel: sfu.logLevel,
      rtcMinPort: sfu.rtcMinPort,
      rtcMaxPort: sfu.rtcMaxPort,
      appData: { index },
    });
    if (this.closed) {
      worker.close();
      return;
    }
    let server: types.WebRtcServer | null = null;
    if (sfu.webRtcServerPort > 0) {
      const port = sfu.webRtcServerPort + index;
      const base = sfu.announcedIp
        ? { ip: sfu.listenIp, announcedIp: sfu.announcedIp, port }
        : { ip: sfu.listenIp, port };
      try {
        server = await worker.createWebRtcServer({
          listenInfos: [
            { protocol: 'udp', ...base },
            { protocol: 'tcp', ...base },
          ],
        });
      } catch (err) {
        worker.close();
        throw err;
      }
    }
    const state: WorkerState = { index, worker, server, routers: 0, streams: 0, consumers: 0 };
    this.count(state);
    worker.on('died', (err) => this.died(state, err));
    this.states[index] = state;
    this.o.metrics.sfuWorkers.set(this.workers().length);
  }

  /** Keeps the router and stream counts of a worker that pick() balances on. */
  private count(state: WorkerState): void {
    type Closes = { observer: { once(e: 'close', f: () => void): unknown } };
    const stream = (o: Closes) => {
      state.streams++;
      o.observer.once('close', () => state.streams--);
    };
    const consumer = (c: Closes) => {
      stream(c);
      state.consumers++;
      c.observer.once('close', () => state.consumers--);
    };
    state.worker.observer.on('newrouter', (router) => {
      state.routers++;
      router.observer.once('close', () => state.routers--);
      router.observer.on('newtransport', (t) => {
        t.observer.on('newproducer', stream);
        t.observer.on('newconsumer', consumer);
      });
    });
  }

  private died(state: WorkerState, err: Error): void {
    this.log.error(
      { event: 'sfu_worker_died', index: state.index, pid: state.worker.pid, err },
      'mediasoup worker died; replacing it',
    );
    this.o.metrics.sfuWorkerDeaths.inc();
    if (this.states[state.index] === state) this.states[state.index] = null;
    this.o.metrics.sfuWorkers.set(this.workers().length);
    const respawn = this.respawn(state.index).finally(() => this.respawns.delete(respawn));
    this.respawns.add(respawn);
  }

  /** Spawns a replacement, retrying until it works or the pool closes. */
  private async respawn(index: number): Promise<void> {
    while (!this.closed) {
      try {
        await this.spawn(index);
        this.log.info({ event: 'sfu_worker_replaced', index }, 'mediasoup worker replaced');
        return;
      } catch (err) {
        this.log.error({ event: 'sfu_respawn_failed', index, err }, 'cannot respawn worker');
        await new Promise((r) => setTimeout(r, RESPAWN_DELAY_MS));
      }
    }
  }
}

function info(s: WorkerState): WorkerInfo {
  const { index, routers, streams, consumers } = s;
  return { index, pid: s.worker.pid, routers, streams, consumers };
}

/**
 * Loads mediasoup with the configured worker binary. mediasoup reads MEDIASOUP_WORKER_BIN once,
 * when its module is first evaluated, to fix the binary every Worker spawns; so configuration
 * (the one source of truth) is copied into it before the first import, and mediasoup is only
 * ever imported here, dynamically. Later pools in the same process share that first binary.
 */
async function loadMediasoup(workerBin: string | undefined): Promise<Mediasoup> {
  const howTo =
    'build it once with `bash scripts/mediasoup-worker.sh` (a few minutes; it prints the path) ' +
    'and/or set MEDIASOUP_WORKER_BIN to it';
  if (workerBin) {
    if (!existsSync(workerBin)) {
      throw new Error(`mediasoup worker binary not found at ${workerBin}: ${howTo}`);
    }
    process.env.MEDIASOUP_WORKER_BIN = workerBin;
  }
  const ms = await import('mediasoup');
  if (!existsSync(ms.workerBin)) {
    throw new Error(`mediasoup worker binary not found at ${ms.workerBin}: ${howTo}`);
  }
  return ms;
}
