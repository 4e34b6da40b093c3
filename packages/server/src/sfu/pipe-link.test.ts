import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import type { SfuPool } from './index.ts';
import { testPool, until } from './pool.kit.ts';

/** A pool standing for one node: its own mediasoup worker and pipe settings. */
const node = (sfu: Record<string, unknown>): SfuPool => testPool({ workers: 1, ...sfu });

const OPUS_PT = 100;
const SSRC = 0x1234_5678;

/** An RTP packet of the test's opus stream. */
function rtp(seq: number): Buffer {
  const b = Buffer.alloc(12 + 20);
  b[0] = 0x80;
  b[1] = OPUS_PT;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 960) >>> 0, 4);
  b.writeUInt32BE(SSRC, 8);
  return b;
}

function udp(): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s)));
}

/**
 * Node A publishes an opus stream (RTP from a UDP socket into a plain transport), pipes it to
 * node B over a pair of PipeLinks, and B forwards it to a UDP socket: the packets arrive.
 * Closing the producer on A closes the pipe consumer; telling B closes the copy and its consumer.
 */
async function pipeAcross(sfu: Record<string, unknown>): Promise<{ ports: number[] }> {
  const a = node(sfu);
  const b = node(sfu);
  const sockets: Socket[] = [];
  try {
    const ra = (await a.createRouter()).router;
    const rb = (await b.createRouter()).router;

    const ingress = await ra.createPlainTransport({
      listenIp: '127.0.0.1',
      comedia: true,
      rtcpMux: true,
    });
    const producer = await ingress.produce({
      kind: 'audio',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2 }],
        encodings: [{ ssrc: SSRC }],
      },
    });

    const [endA, endB] = await Promise.all([a.openPipe(ra), b.openPipe(rb)]);
    await Promise.all([endA.connect(endB.local), endB.connect(endA.local)]);
    const { consumer: pipeConsumer, piped } = await endA.send(producer);
    const copy = await endB.receive(piped);
    assert.equal(copy.id, producer.id, 'the copy keeps the id');
    assert.equal(copy.kind, 'audio');

    const sink = await udp();
    sockets.push(sink);
    let received = 0;
    sink.on('message', () => received++);
    const egress = await rb.createPlainTransport({ listenIp: '127.0.0.1', rtcpMux: true });
    await egress.connect({ ip: '127.0.0.1', port: sink.address().port });
    const consumer = await egress.consume({
      producerId: copy.id,
      rtpCapabilities: rb.rtpCapabilities,
    });

    const source = await udp();
    sockets.push(source);
    let seq = 0;
    const pump = setInterval(() => {
      source.send(rtp(seq++), ingress.tuple.localPort, '127.0.0.1');
    }, 10);
    try {
      await until(() => received >= 20, 'RTP arrives at B through the pipe');
      await until(
        async () => ((await consumer.getStats())[0]?.packetCount ?? 0) > 0,
        "B's consumer counts the piped packets",
      );
    } finally {
      clearInterval(pump);
    }

    // The pipe's UDP carries no close: A's side closes with the producer, and B hears of it
    // from A (the cluster's bus) and closes the copy, which closes its consumers.
    const consumerGone = new Promise((r) => consumer.once('producerclose', () => r(true)));
    const pipeGone = new Promise((r) => pipeConsumer.observer.once('close', () => r(true)));
    producer.close();
    assert.equal(await pipeGone, true);
    copy.close();
    assert.equal(await consumerGone, true);

    endA.close();
    endB.close();
    assert.ok(endA.closed && endB.closed);
    return { ports: [endA.transport.tuple.localPort, endB.transport.tuple.localPort] };
  } finally {
    for (const s of sockets) s.close();
    a.close();
    b.close();
  }
}

test('a producer piped between two nodes: RTP flows, and closes propagate', async () => {
  await pipeAcross({});
});

test('SRTP pipes within a configured port range', async () => {
  const { ports } = await pipeAcross({ pipeSrtp: true, pipeMinPort: 47_100, pipeMaxPort: 47_199 });
  for (const port of ports) assert.ok(port >= 47_100 && port <= 47_199, `port ${port} in range`);
});

test('a pipe announces the configured address and carries SRTP keys when asked', async () => {
  const a = node({ pipeListenIp: '127.0.0.1', pipeAnnouncedIp: '10.1.2.3', pipeSrtp: true });
  try {
    const end = await a.openPipe((await a.createRouter()).router);
    assert.equal(end.local.ip, '10.1.2.3');
    assert.ok(end.local.srtpParameters?.keyBase64, 'SRTP keys for the other end');
    end.close();
  } finally {
    a.close();
  }
});

test('a data producer piped between two nodes over SCTP: messages arrive, closes propagate', async () => {
  const a = node({});
  const b = node({});
  try {
    const ra = (await a.createRouter()).router;
    const rb = (await b.createRouter()).router;
    // Direct transports stand for the peers' SCTP transports: the server sends and reads.
    const ingress = await ra.createDirectTransport();
    const dataProducer = await ingress.produceData({ label: 'chat', protocol: 'json' });

    const [endA, endB] = await Promise.all([a.openPipe(ra, true), b.openPipe(rb, true)]);
    await Promise.all([endA.connect(endB.local), endB.connect(endA.local)]);
    const { consumer: pipeConsumer, piped } = await endA.sendData(dataProducer);
    const copy = await endB.receiveData(piped);
    assert.equal(copy.id, dataProducer.id, 'the copy keeps the id');
    assert.deepEqual([copy.label, copy.protocol], ['chat', 'json']);

    const egress = await rb.createDirectTransport();
    const dataConsumer = await egress.consumeData({ dataProducerId: copy.id });
    const got: string[] = [];
    dataConsumer.on('message', (m: Buffer) => got.push(m.toString()));
    // The SCTP association comes up some time after connect: send until a message arrives.
    let n = 0;
    await until(() => {
      dataProducer.send(`hello ${n++}`);
      return got.length > 0;
    }, 'a message crosses the pipe');
    assert.match(got[0]!, /^hello \d+$/);

    const consumerGone = new Promise((r) => dataConsumer.once('dataproducerclose', () => r(true)));
    const pipeGone = new Promise((r) => pipeConsumer.observer.once('close', () => r(true)));
    dataProducer.close();
    assert.equal(await pipeGone, true);
    copy.close();
    assert.equal(await consumerGone, true);
    endA.close();
    endB.close();
  } finally {
    a.close();
    b.close();
  }
});

test('a pipe opened without SCTP carries no data producer', async () => {
  const a = node({});
  try {
    const router = (await a.createRouter()).router;
    const dataProducer = await (await router.createDirectTransport()).produceData();
    const end = await a.openPipe(router);
    await assert.rejects(end.sendData(dataProducer));
    end.close();
  } finally {
    a.close();
  }
});
