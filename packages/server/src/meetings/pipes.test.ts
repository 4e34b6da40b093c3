import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { SfuPool, SfuRouter } from '../sfu/index.ts';
import { testPool, until } from '../sfu/pool.kit.ts';
import { Pipes } from './pipes.ts';

/** Two real mediasoup workers. */
const pool = (): SfuPool => testPool({ workers: 2 });

const OPUS = {
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
  encodings: [{ ssrc: 1 }],
};

/** Two routers of one meeting on the two workers of a pool. */
async function twoRouters(p: SfuPool): Promise<[SfuRouter, SfuRouter]> {
  await p.start();
  const a = await p.createRouter();
  const b = await p.createRouter();
  assert.notEqual(a.workerPid, b.workerPid, 'one router on each worker');
  return [a, b];
}

test('a producer is piped once, lazily; pausing it crosses the pipe; the last release unpipes', async () => {
  const p = pool();
  try {
    const [a, b] = await twoRouters(p);
    const consumersOn = (r: SfuRouter) => p.workers().find((w) => w.pid === r.workerPid)!.consumers;
    const send = await a.createWebRtcTransport({ appData: {} });
    const producer = await send.produce({ kind: 'audio', rtpParameters: OPUS });
    const pipes = new Pipes();
    const what = { producerId: producer.id };
    assert.equal(
      await pipes.acquire(what, a.router, a.router).then(() => pipes.size),
      0,
      'same router',
    );
    assert.equal(pipes.has(what, b.router), false, 'nothing is piped before it is needed');

    // Two users at once: one pipe (one pipe consumer on the origin worker).
    const [first, second] = await Promise.all([
      pipes.acquire(what, a.router, b.router),
      pipes.acquire(what, a.router, b.router),
    ]);
    assert.equal(pipes.size, 1);
    assert.equal(consumersOn(a), 1, 'one pipe consumer on the origin worker');

    const recv = await b.createWebRtcTransport({ appData: {} });
    const consumer = await recv.consume({
      producerId: producer.id,
      rtpCapabilities: b.router.rtpCapabilities,
      paused: true,
    });
    assert.equal(consumer.producerPaused, false);
    const paused = once(consumer, 'producerpause');
    await producer.pause();
    await paused;
    assert.equal(consumer.producerPaused, true, 'the pause reached the other worker');
    const resumed = once(consumer, 'producerresume');
    await producer.resume();
    await resumed;

    first();
    first();
    assert.equal(pipes.size, 1, 'a release counts once; the second user keeps the pipe');
    const gone = once(consumer.observer, 'close');
    second();
    await gone;
    assert.equal(pipes.size, 0);
    await until(() => consumersOn(a) === 0, 'the pipe consumer closed');

    // Piped again later (the copy keeps the producer id, so the old one had to go first).
    const again = await pipes.acquire(what, a.router, b.router);
    assert.equal(pipes.size, 1);
    // The producer closing closes its pipe, and the pipe is forgotten.
    producer.close();
    await until(() => pipes.size === 0, 'the pipe of a closed producer forgotten');
    again();
  } finally {
    p.close();
  }
});

test('a data producer is piped for a data consumer on another worker', async () => {
  const p = pool();
  try {
    const [a, b] = await twoRouters(p);
    const sctp = { OS: 1024, MIS: 1024 };
    const send = await a.createWebRtcTransport({ sctp, appData: {} });
    const dataProducer = await send.produceData({
      sctpStreamParameters: { streamId: 0, ordered: true },
      label: 'chat',
    });
    const pipes = new Pipes();
    const release = await pipes.acquire({ dataProducerId: dataProducer.id }, a.router, b.router);
    const recv = await b.createWebRtcTransport({ sctp, appData: {} });
    const dataConsumer = await recv.consumeData({ dataProducerId: dataProducer.id });
    assert.equal(dataConsumer.label, 'chat');
    const gone = once(dataConsumer.observer, 'close');
    release();
    await gone;
    assert.equal(pipes.size, 0);
  } finally {
    p.close();
  }
});

test('a pipe that cannot be made is not kept', async () => {
  const p = pool();
  try {
    const [a, b] = await twoRouters(p);
    const pipes = new Pipes();
    await assert.rejects(pipes.acquire({ producerId: 'none' }, a.router, b.router), /not found/);
    assert.equal(pipes.size, 0);
  } finally {
    p.close();
  }
});
