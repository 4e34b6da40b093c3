import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import type { BusMessage } from '../core/index.ts';
import { linkedNode, Peers } from './bus-fixtures.kit.ts';
import { RedisBus } from './redis-bus.ts';
import { deletePrefix, keysFor } from './redis.ts';

/** Direct links between nodes, with real Redis carrying the bus until a link opens. */

const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `parley_links_${process.pid}_${Date.now().toString(36)}`;
const keys = keysFor(prefix);
const log = pino({ level: 'silent' });
const opened: Redis[] = [];
const closers: Array<() => Promise<void>> = [];

after(async () => {
  for (const close of closers) await close();
  const r = new Redis(REDIS_URL);
  await deletePrefix(r, prefix);
  r.disconnect();
  for (const r of opened) r.disconnect();
});

const redis = () => {
  const r = new Redis(REDIS_URL, { enableAutoPipelining: false });
  opened.push(r);
  return r;
};

async function node(nodeId: string, peers: Peers) {
  const pub = redis();
  const redisBus = new RedisBus(pub, redis(), keys, log);
  const { links, bus } = await linkedNode(nodeId, redisBus, peers, log);
  const got: BusMessage[] = [];
  bus.subscribe(nodeId, (m) => got.push(m));
  // All the Redis bus handed on (from Redis or a link), the links' markers included.
  const raw: BusMessage[] = [];
  redisBus.subscribe(nodeId, (m) => raw.push(m));
  // What is published before Redis has the SUBSCRIBE is lost: wait until it has it.
  await until('the SUBSCRIBE', async () => {
    const [, n] = (await pub.pubsub('NUMSUB', keys.channel(nodeId))) as [string, number];
    return n > 0;
  });
  closers.push(() => bus.close());
  return { links, bus, got, raw, pub };
}

const numbered = (n: number): BusMessage => ({ kind: 'unroute', callIds: [String(n)] });
const numbers = (got: BusMessage[]) =>
  got.flatMap((m) => (m.kind === 'unroute' ? [Number(m.callIds[0])] : []));

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000) {
  for (const end = Date.now() + ms; !(await ok()); await sleep(5)) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
  }
}

test('a node’s messages to another arrive in order while its link opens, and then over it', async () => {
  const peers = new Peers();
  const a = await node('a1', peers);
  const b = await node('b1', peers);
  // Messages in every turn, before, while and after the link opens.
  for (let i = 0; i < 400; i++) {
    a.bus.publish('b1', numbered(i));
    if (i % 10 === 9) await turn();
  }
  await until('all 400', () => numbers(b.got).length === 400);
  assert.deepEqual(
    numbers(b.got),
    Array.from({ length: 400 }, (_, i) => i),
  );
  assert.ok(a.links.to('b1'), 'the link is open');
  // The marker came, and is the links' business, not the handlers'.
  assert.equal(b.raw.filter((m) => m.kind === 'link-open').length, 1);
  assert.equal(b.got.filter((m) => m.kind === 'link-open').length, 0);
  // Over the link: without a's Redis connection, messages still arrive.
  a.pub.disconnect();
  const count = b.got.length;
  a.bus.publish('b1', numbered(400));
  await until('the 401st', () => b.got.length === count + 1);
});

test('what a link brings waits for its marker through Redis', async () => {
  const peers = new Peers();
  const a = await node('a2', peers);
  const b = await node('b2', peers);
  // a's marker is withheld: b must not pass on what the link brought.
  let marker: string | null = null;
  a.links.onOpen = (_nodeId, linkId) => (marker = linkId);
  a.bus.publish('b2', numbered(0)); // through Redis; dials
  await until('the link', () => a.links.to('b2') !== null);
  a.bus.publish('b2', numbered(1)); // over the link
  await until('the first, through Redis', () => b.got.length >= 1);
  await sleep(100); // and nothing else meanwhile
  assert.deepEqual(numbers(b.got), [0]);
  b.links.release(marker!);
  assert.deepEqual(numbers(b.got), [0, 1]);
});

test('a broken link falls back to Redis, and the node is dialled again', async () => {
  const peers = new Peers();
  const a = await node('a3', peers);
  const b = await node('b3', peers);
  a.bus.publish('b3', numbered(0));
  await until('the link', () => a.links.to('b3') !== null);
  a.links.drop('b3'); // as if the connection broke
  for (let i = 1; i <= 50; i++) a.bus.publish('b3', numbered(i));
  await until('all 51', () => b.got.length >= 51);
  let next = 51;
  await until('a new link', () => {
    a.bus.publish('b3', numbered(next++));
    return a.links.to('b3') !== null;
  });
  a.bus.publish('b3', numbered(1000));
  await until('the last', () => numbers(b.got).includes(1000));
  const n = numbers(b.got);
  assert.deepEqual(
    n,
    [...n].sort((x, y) => x - y),
    'in order throughout',
  );
  assert.equal(new Set(n).size, n.length, 'no duplicates');
});

test('a node taken for dead is not dialled; its messages go through Redis', async () => {
  const peers = new Peers();
  const a = await node('a4', peers);
  const b = await node('b4', peers);
  peers.dead.add('b4');
  a.bus.publish('b4', numbered(0));
  await until('the message', () => b.got.length === 1);
  await sleep(100);
  assert.equal(a.links.to('b4'), null);
});

test('the link port refuses a dialler without the node’s key', async () => {
  const peers = new Peers();
  const b = await node('b5', peers);
  const [url] = b.links.advert.split(' ');
  for (const headers of [
    { 'x-parley-node': 'x', 'x-parley-link': 'abcdefghij' },
    { authorization: 'Bearer wrong', 'x-parley-node': 'x', 'x-parley-link': 'abcdefghij' },
    { authorization: `Bearer ${b.links.advert.split(' ')[1]}`, 'x-parley-node': 'x' },
  ]) {
    const ws = new WebSocket(url!, { headers });
    ws.on('error', () => undefined); // terminate() below, before any connection
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
    assert.equal(res.statusCode, 401);
    ws.terminate();
  }
});

test('a link that opens while Redis is unreachable sends its marker over the link', async () => {
  const peers = new Peers();
  const a = await node('a6', peers);
  const b = await node('b6', peers);
  a.pub.disconnect(); // a cannot publish: its first message is lost, the link is dialled
  await until('a cut off from Redis', () => a.pub.status !== 'ready');
  // A message sent as soon as the link is open, in the same turn as the marker.
  let sent = 0;
  const open = a.links.onOpen;
  a.links.onOpen = (nodeId, linkId, link) => {
    open(nodeId, linkId, link);
    queueMicrotask(() => {
      sent = Date.now();
      a.bus.publish('b6', numbered(1));
    });
  };
  a.bus.publish('b6', numbered(0));
  await until('the message over the link', () => numbers(b.got).includes(1));
  assert.ok(Date.now() - sent < 1_000, 'not held for want of a marker');
  assert.deepEqual(numbers(b.got), [1]);
});
