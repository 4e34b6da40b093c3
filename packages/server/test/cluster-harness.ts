import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { pino } from 'pino';
import { createApp, type App } from '../src/app.ts';
import { deletePrefix } from '../src/cluster/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { openDatabase } from '../src/store/index.ts';
import { serving, type TestServer } from './harness.ts';

/**
 * A Parley cluster for tests: nodes on their own ports sharing a PostgreSQL schema and a Redis
 * key prefix of their own, with nginx in front. The real services, never skipped: PostgreSQL
 * (PARLEY_TEST_DATABASE_URL), Redis (PARLEY_TEST_REDIS_URL) and the nginx binary.
 */

export const PG_URL =
  process.env.PARLEY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const JWT_SECRET = 'test-secret-test-secret-0123456789';

type Tree = Record<string, unknown>;

let seq = 0;

/** A name unique to this process and call, for schemas and key prefixes. */
export function uniqueName(kind: string): string {
  return `parley_${kind}_${process.pid}_${Date.now().toString(36)}_${++seq}`;
}

/**
 * Liveness settings short enough for chaos tests, yet with a TTL of six heartbeats: on a
 * loaded 2-core machine (browsers and SFU workers in parallel suites) a node's event loop may
 * stall for a second, and a live node must not be taken for dead.
 */
export const FAST_CLUSTER = { heartbeatMs: 500, nodeTtlMs: 3000, janitorIntervalMs: 500 };

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts something on a free port. A port found free may be taken by another test's server
 * before ours binds it: then it tries another (`retry` says which failures are that).
 */
export async function onFreePort<T>(
  start: (port: number) => Promise<T>,
  retry: (err: unknown) => boolean = (err) => /EADDRINUSE|address already in use/.test(String(err)),
  attempts = 5,
): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start(await freePort());
    } catch (err) {
      if (i >= attempts || !retry(err)) throw err;
    }
  }
}

/** Waits until something accepts TCP connections on `port`. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fresh PostgreSQL schema; its URL sets the search path. */
export async function createSchema(): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = uniqueName('cl');
  const admin = openDatabase({ databaseUrl: PG_URL, dataDir: '' });
  try {
    await sql.raw(`create schema ${schema}`).execute(admin.kysely);
  } catch (err) {
    await admin.kysely.destroy();
    throw new Error(
      `PostgreSQL is needed at ${PG_URL} (start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start): ${(err as Error).message}`,
    );
  }
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    drop: async () => {
      await sql.raw(`drop schema ${schema} cascade`).execute(admin.kysely);
      await admin.kysely.destroy();
    },
  };
}

/** Checks that Redis answers at `url`; fails with how to start it. */
export async function requireRedis(url = REDIS_URL): Promise<void> {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await r.connect();
    await r.ping();
  } catch (err) {
    throw new Error(
      `Redis is needed at ${url} (start it: redis-server --daemonize yes): ${(err as Error).message}`,
    );
  } finally {
    r.disconnect();
  }
}

/** Deletes every key under a cluster's prefix. */
export async function dropKeys(prefix: string, url = REDIS_URL): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await deletePrefix(r, prefix);
  } finally {
    r.disconnect();
  }
}

/** nginx in front of `ports` (round robin, WebSocket upgrades), on a loopback port of its own. */
export function startNginx(ports: readonly number[]): Promise<Nginx> {
  return onFreePort(
    (port) => nginxOn(port, ports),
    (err) => /exited at start/.test(String(err)),
  );
}

interface Nginx {
  port: number;
  stop: () => Promise<void>;
}

async function nginxOn(port: number, ports: readonly number[]): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-nginx-'));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream parley {
${ports.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://parley;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
      proxy_buffering off;
    }
  }
}
`,
  );
  const child: ChildProcess = spawn('nginx', ['-c', conf, '-p', dir], { stdio: 'ignore' });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('error', (err) =>
      reject(new Error(`nginx is needed (apt-get install nginx): ${err.message}`)),
    );
    child.once('spawn', () => resolve());
  });
  await spawned;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([
    waitForPort(port),
    exited.then(() => {
      throw new Error(`nginx exited at start; see ${dir}/error.log`);
    }),
  ]);
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A cluster as the suites see it: a TestServer whose `apps` are every node. */
export interface ClusterServer extends TestServer {
  prefix: string;
  /** `127.0.0.1:<port>` of each node, in the order of `apps` (to reach one node, not nginx). */
  hosts: string[];
}

/**
 * Three nodes in this process behind nginx; `connect()` goes through nginx, whose round robin
 * spreads consecutive clients over the nodes. `app` is the first node (the database is shared,
 * so row checks work through any).
 */
export async function startCluster(overrides: Tree = {}, nodes = 3): Promise<ClusterServer> {
  await requireRedis();
  const pg = await createSchema();
  const prefix = uniqueName('t');
  const dataDirs: string[] = [];
  const apps: App[] = [];
  let nginx: Awaited<ReturnType<typeof startNginx>> | undefined;
  const ports: number[] = [];
  try {
    for (let i = 0; i < nodes; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'parley-test-'));
      dataDirs.push(dataDir);
      const config = loadConfig(
        { PARLEY_JWT_SECRET: JWT_SECRET },
        {
          server: { port: 0 },
          dataDir,
          databaseUrl: pg.url,
          redisUrl: REDIS_URL,
          calls: { disconnectGraceMs: 200 },
          ...overrides,
          cluster: { prefix, ...FAST_CLUSTER, ...(overrides.cluster as Tree | undefined) },
        },
      );
      const app = await createApp(config, {
        log: pino({ level: process.env.TEST_LOG ?? 'silent' }),
      });
      apps.push(app);
      ports.push((await app.listen()).port);
    }
    nginx = await startNginx(ports);
  } catch (err) {
    for (const app of apps) await app.close();
    await pg.drop();
    throw err;
  }
  const proxy = nginx;
  const server = serving(apps, `127.0.0.1:${nginx.port}`, async () => {
    await Promise.all(apps.map((a) => a.close()));
    await proxy.stop();
    await pg.drop();
    await dropKeys(prefix);
    for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  });
  return { ...server, prefix, hosts: ports.map((p) => `127.0.0.1:${p}`) };
}
