import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { createApp, loadConfig } from '@parley/server';
import { fmtInt, table } from './stats.ts';

/** What `parley bench-conns` takes. */
export interface ConnsBenchOptions {
  /** Idle WebSocket connections to hold open. */
  conns: number;
  /** Print one JSON line with every figure too. */
  json: boolean;
}

/** A full collection, made available at run time (the bench is not started with --expose-gc). */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** The process's memory after full collections, once sockets and timers have settled. */
async function settled(gc: () => void): Promise<{ rss: number; heap: number }> {
  await delay(2000);
  for (let i = 0; i < 3; i++) {
    gc();
    await delay(100);
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

/** The load process; resolves with its answer to `message`. */
async function ask(child: ChildProcess, message: unknown): Promise<Record<string, unknown>> {
  child.send(message as object);
  const [answer] = (await once(child, 'message')) as [Record<string, unknown>];
  if (typeof answer.error === 'string') throw new Error(`bench clients: ${answer.error}`);
  return answer;
}

/**
 * `parley bench-conns`: what an idle WebSocket connection costs the server. The server runs in
 * this process (default configuration, a fresh SQLite store, logs off), the clients in a child
 * (this process's fd limit applies to each; 10,000 connections need ~10,100 fds). After a
 * warm-up of as many connections opened and closed, it opens `conns` native connections of
 * distinct users that stay idle (their pings answered) and prints the growth of RSS and V8
 * heap after full collections, per connection.
 */
export async function runConnsBench(o: ConnsBenchOptions): Promise<void> {
  const gc = collector();
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-conns-'));
  const config = loadConfig(
    { PARLEY_JWT_SECRET: 'bench-conns-secret-0123456789' },
    { server: { port: 0 }, dataDir, connections: { maxConnections: o.conns + 1000 } },
  );
  const app = await createApp(config, { log: pino({ level: 'silent' }) });
  const { port } = await app.listen();
  const entry = fileURLToPath(new URL('./conns-child.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), entry], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const urls = async (prefix: string) =>
      Promise.all(
        Array.from(
          { length: o.conns },
          async (_, i) =>
            `ws://127.0.0.1:${port}/ws?token=${await app.auth.mint(`${prefix}${i}`, { ttlSec: 3600 })}`,
        ),
      );
    // Warm-up: code compiled, and the young generation grown to what such a storm makes it
    // (up to --max-semi-space-size), a one-off of the process rather than a cost per socket.
    await ask(child, { open: await urls('warm-') });
    await ask(child, { close: true });
    const idleUrls = await urls('idle-');
    const before = await settled(gc);
    const started = Date.now();
    await ask(child, { open: idleUrls });
    const openMs = Date.now() - started;
    const after = await settled(gc);
    const rssPer = (after.rss - before.rss) / o.conns;
    const heapPer = (after.heap - before.heap) / o.conns;
    const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
    const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
    process.stdout.write(
      `\nIdle WebSocket connections (${fmtInt(o.conns)} users, one native /ws each, opened in ${fmtInt(openMs)} ms)\n\n` +
        table([
          ['', 'RSS', 'V8 heap used'],
          ['before', mb(before.rss), mb(before.heap)],
          [`with ${fmtInt(o.conns)} connections`, mb(after.rss), mb(after.heap)],
          ['per connection', kb(rssPer), kb(heapPer)],
        ]) +
        '\n',
    );
    if (o.json) {
      const figures = { conns: o.conns, openMs, before, after, rssPerConn: rssPer };
      process.stdout.write(`${JSON.stringify({ ...figures, heapPerConn: heapPer })}\n`);
    }
  } finally {
    child.kill();
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
