import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApp, type App, loadConfig } from '@parley/server';
import { LOCAL_SERVICES, openScratch, servicesProblem, type Scratch } from './scratch.ts';

/**
 * The Parley nodes `parley bench-sfu` runs in its own process: node A, with two workers and a
 * small consumer budget per worker (so that the bench can fill the publisher's worker and see
 * the next peer placed on the other: see sfu-joins.ts), and, when Redis and PostgreSQL answer,
 * node B, a second node of the same cluster with meetings spanning nodes
 * (`cluster.meetingsSpan`), for the join case "other node".
 */
export interface SfuNodes {
  a: App;
  /** The second node, or null when the cluster's services are not there. */
  b: App | null;
  /** Why there is no node B, or null. */
  noB: string | null;
  /** The port of each node on 127.0.0.1. */
  ports: { a: number; b: number | null };
  close(): Promise<void>;
}

/** The services of a cluster (default: this machine's); node B starts only when both answer. */
export interface ClusterServices {
  redisUrl?: string;
  databaseUrl?: string;
}

/**
 * Consumers per worker on node A (`sfu.consumersPerWorker`): small, so that a handful of paused
 * consumers fill the publisher's worker.
 */
export const BENCH_CONSUMER_BUDGET = 8;

/** Starts node A, and node B when `cluster` is given and its services answer. */
export async function startSfuNodes(cluster: ClusterServices | null): Promise<SfuNodes> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-sfu-'));
  const jwtSecret = randomBytes(24).toString('base64url');
  const services = cluster && { ...LOCAL_SERVICES, ...cluster };
  const noB = services
    ? await servicesProblem(services.redisUrl, services.databaseUrl)
    : 'not asked for: --one-node';
  let scratch: Scratch | null = null;
  const apps: App[] = [];
  const close = async () => {
    for (const app of apps.reverse()) await app.close();
    await scratch?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    if (services && !noB)
      scratch = await openScratch(services.redisUrl, services.databaseUrl, 'sfu');
    const node = async (name: string, workers: number) => {
      const config = loadConfig(process.env, {
        server: { host: '127.0.0.1', port: 0 },
        dataDir: join(dataDir, name),
        databaseUrl: scratch?.databaseUrl,
        redisUrl: scratch?.redisUrl,
        ...(scratch ? { cluster: { prefix: scratch.prefix, meetingsSpan: true } } : {}),
        auth: { jwtSecret },
        sfu: { workers, webRtcServerPort: 0, consumersPerWorker: BENCH_CONSUMER_BUDGET },
      });
      const app = await createApp(config, { log: pino({ level: 'silent' }) });
      apps.push(app);
      const { port } = await app.listen();
      await app.sfu.start();
      return { app, port };
    };
    // One after the other: the first runs the migrations.
    const a = await node('a', 2);
    const b = scratch ? await node('b', 1) : null;
    return { a: a.app, b: b?.app ?? null, noB, ports: { a: a.port, b: b?.port ?? null }, close };
  } catch (err) {
    await close();
    throw err;
  }
}
