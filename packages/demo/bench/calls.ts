import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { pino } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { DEFAULT_CHROMIUM, launchChromium } from '@parley/bench/browser';
import { whole } from '@parley/bench/dev-cli';
import { createApp, loadConfig } from '@parley/server';
import { buildDemo } from '../build.ts';
import type { Timing } from './page.ts';

/**
 * Call setup through the SDK, next to two bare RTCPeerConnections signalling through a minimal
 * relay, in the same run (`npm run bench:sdk -- --calls 30`). Both in one Chromium tab on
 * loopback with fake devices, calls one after the other, the two kinds interleaved. Prints p50 and
 * p95 of invite → media connected and invite → first remote video frame.
 */

const values = new Command('npm run bench:sdk --')
  .description('call setup through the SDK against bare RTCPeerConnections, in Chromium')
  .option('--calls <count>', 'calls of each kind', whole(1), 30)
  .option('--json', 'also print one JSON line with every figure', false)
  .allowExcessArguments(false)
  .parse()
  .opts<{ calls: number; json: boolean }>();
const calls = values.calls;

/** The minimal relay: `{to, ...}` from peer `from` is sent to peer `to` as `{from, ...}`. */
async function startRelay() {
  const server = createServer();
  const wss = new WebSocketServer({ server });
  const peers = new Map<string, WebSocket>();
  wss.on('connection', (ws, req) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
    peers.set(id, ws);
    ws.on('message', (data: Buffer) => {
      const { to, ...rest } = JSON.parse(data.toString('utf8')) as { to: string };
      peers.get(to)?.send(JSON.stringify({ from: id, ...rest }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      wss.close();
      server.close();
    },
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const dir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
await buildDemo(dir, { bench: fileURLToPath(new URL('./page.ts', import.meta.url)) });
writeFileSync(
  join(dir, 'bench.html'),
  '<!doctype html><meta charset="utf-8"><title>bench</title><script type="module" src="/bench.js"></script>',
);
const config = loadConfig(
  { PARLEY_JWT_SECRET: 'bench-secret-bench-secret-0123456789' },
  {
    server: { port: 0 },
    dataDir: dir,
    web: { dir },
    limits: { ratePerSec: 10_000, rateBurst: 10_000 },
  },
);
const app = await createApp(config, { log: pino({ level: 'silent' }) });
const { port } = await app.listen();
const relay = await startRelay();
const browser = await launchChromium(process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM);
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(`http://127.0.0.1:${port}/bench.html`);
  await page.waitForFunction(() => typeof window.bench === 'object');
  const [caller, callee] = await Promise.all([
    app.auth.mint('bench-caller'),
    app.auth.mint('bench-callee'),
  ]);
  await page.evaluate((t) => window.bench.sdk(t.caller, t.callee, 'bench-callee'), {
    caller,
    callee,
  });
  await page.evaluate((url) => window.bench.bare(url), relay.url);
  // One warm-up call of each kind (codec and capture start-up), not counted.
  const results: Record<'sdk' | 'bare', Timing[]> = { sdk: [], bare: [] };
  for (let i = -1; i < calls; i++) {
    for (const kind of ['sdk', 'bare'] as const) {
      const t = await page.evaluate((k) => window.bench.call(k), kind);
      if (i >= 0) results[kind].push(t);
    }
  }
  const summary = Object.fromEntries(
    (['sdk', 'bare'] as const).map((kind) => {
      const r = results[kind];
      const stat = (f: (t: Timing) => number) => ({
        p50: Math.round(percentile(r.map(f), 50)),
        p95: Math.round(percentile(r.map(f), 95)),
      });
      return [kind, { connected: stat((t) => t.connected), firstFrame: stat((t) => t.firstFrame) }];
    }),
  ) as Record<
    'sdk' | 'bare',
    { connected: { p50: number; p95: number }; firstFrame: { p50: number; p95: number } }
  >;
  const row = (name: string, s: (typeof summary)['sdk']) =>
    `| ${name} | ${s.connected.p50} | ${s.connected.p95} | ${s.firstFrame.p50} | ${s.firstFrame.p95} |`;
  process.stdout.write(
    [
      `${calls} video calls each, loopback, fake devices (ms from the invite / the offer)`,
      '',
      '| path | connected p50 | connected p95 | first frame p50 | first frame p95 |',
      '| --- | --- | --- | --- | --- |',
      row('SDK through Parley', summary.sdk),
      row('bare RTCPeerConnections + minimal relay', summary.bare),
      '',
    ].join('\n'),
  );
  if (values.json) process.stdout.write(`${JSON.stringify({ calls, ...summary })}\n`);
} finally {
  await browser.close();
  relay.close();
  await app.close();
  rmSync(dir, { recursive: true, force: true });
}
