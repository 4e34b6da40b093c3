import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import { pino } from 'pino';
import { loadConfig } from '../config/index.ts';
import { Metrics } from '../observability/index.ts';
import { SfuPool, type SfuRouter } from './index.ts';
import { testPool, until } from './pool.kit.ts';

test('routers go to the least loaded worker; a dead worker is replaced', async () => {
  const p = testPool({ workers: 2 });
  try {
    await p.start();
    const a = await p.createRouter();
    const b = await p.createRouter();
    assert.notEqual(a.workerPid, b.workerPid, 'the second router avoids the busy worker');
    // Streams weigh more than routers: load worker A, and the next router goes to B.
    const t = await a.createWebRtcTransport({ appData: {} });
    await t.produce({
      kind: 'audio',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
        encodings: [{ ssrc: 1 }],
      },
    });
    const c = await p.createRouter();
    assert.equal(c.workerPid, b.workerPid);
    assert.deepEqual(
      p
        .workers()
        .map((w) => [w.pid === a.workerPid ? 'a' : 'b', w.routers, w.streams])
        .sort(),
      [
        ['a', 1, 1],
        ['b', 2, 0],
      ],
    );

    const closed = new Promise((r) => a.router.once('workerclose', () => r(true)));
    process.kill(a.workerPid, 'SIGKILL');
    assert.equal(await closed, true, "the dead worker's routers close");
    await until(() => p.workers().length === 2, 'replacement');
    assert.ok(!p.workers().some((w) => w.pid === a.workerPid));
    const d = await p.createRouter();
    assert.notEqual(d.workerPid, b.workerPid, 'the fresh worker is the least loaded');
  } finally {
    p.close();
  }
});

/** A port free on 127.0.0.1 for both TCP and UDP now (a WebRtcServer listens on both). */
async function freeRtcPort(): Promise<number> {
  for (;;) {
    const tcp = createServer();
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const { port } = tcp.address() as AddressInfo;
    const udp = createSocket('udp4');
    const free = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    if (free) udp.close();
    await new Promise((resolve) => tcp.close(resolve));
    if (free) return port;
  }
}

/**
 * A worker with a WebRtcServer on a free port. Another test's server may take the port between
 * the look and the worker's bind (it did, when the port came from the pid): then another one.
 */
async function webRtcServerRouter(): Promise<{ p: SfuPool; port: number; r: SfuRouter }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freeRtcPort();
    const p = testPool({ workers: 1, webRtcServerPort: port });
    try {
      return { p, port, r: await p.createRouter() };
    } catch (err) {
      p.close();
      if (attempt >= 5 || !/address already in use/.test(String(err))) throw err;
    }
  }
}

test('with a WebRtcServer every transport of a worker shares one port', async () => {
  const { p, port, r } = await webRtcServerRouter();
  try {
    const t1 = await r.createWebRtcTransport({ appData: {} });
    const t2 = await r.createWebRtcTransport({ sctp: { OS: 16, MIS: 16 }, appData: {} });
    for (const t of [t1, t2]) {
      assert.deepEqual(
        t.iceCandidates.map((c) => [c.protocol, c.port]),
        [
          ['udp', port],
          ['tcp', port],
        ],
      );
    }
    assert.ok(t2.sctpParameters, 'SCTP when asked');
    assert.equal(t1.sctpParameters, undefined);
  } finally {
    p.close();
  }
});

test('a missing worker binary fails with how to build it', async () => {
  const broken = new SfuPool({
    sfu: { ...loadConfig({}).sfu, workerBin: '/nonexistent/mediasoup-worker' },
    log: pino({ level: 'silent' }),
    metrics: new Metrics(),
  });
  await assert.rejects(broken.createRouter(), /scripts\/mediasoup-worker\.sh/);
});
