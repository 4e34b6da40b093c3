import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises';
import type { Bus, BusMessage } from '../core/index.ts';
import { chatWithFile, offerToBob } from './bus-fixtures.kit.ts';

/** Nodes on one bus: each joins with its own Bus, as a node of a cluster does. */
export interface BusCluster {
  /** `nodeId`'s bus, subscribed with `handler`; it receives once this resolves. */
  join(nodeId: string, handler: (m: BusMessage) => void): Promise<Bus>;
  /** Closes what `join` opened (buses already closed included). */
  close(): Promise<void>;
  /**
   * The nodes share one bus object (in one process), so closing one closes them all, and
   * delivery is in microtasks: everything sent has arrived by the next turn of the loop.
   */
  oneProcess?: true;
}

const numbered = (n: number): BusMessage => ({ kind: 'unroute', callIds: [String(n)] });
const numbers = (got: BusMessage[]) =>
  got.flatMap((m) => (m.kind === 'unroute' ? [Number(m.callIds[0])] : []));

/** Waits for a condition the bus brings about (never a fixed time). */
async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await sleep(2)) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
  }
}

/** A node and what it received. */
async function nodeOn(cluster: BusCluster, nodeId: string) {
  const got: BusMessage[] = [];
  const bus = await cluster.join(nodeId, (m) => got.push(m));
  return { bus, got };
}

/**
 * What every Bus promises, whatever carries it (memory, Redis, Redis with direct links): run
 * against each with a factory of fresh clusters.
 */
export function busContract(name: string, make: () => Promise<BusCluster>): void {
  // The runner awaits its tests itself.
  const withCluster = (title: string, body: (c: BusCluster) => Promise<void>): void =>
    void test(`${name}: ${title}`, async () => {
      const cluster = await make();
      try {
        await body(cluster);
      } finally {
        await cluster.close();
      }
    });

  withCluster("one node's messages to another arrive in the order sent", async (c) => {
    const a = await nodeOn(c, 'a');
    const b = await nodeOn(c, 'b');
    // Over several turns of the event loop, as a node's traffic is.
    for (let i = 0; i < 300; i++) {
      a.bus.publish('b', numbered(i));
      if (i % 7 === 6) await turn();
    }
    await until('all 300', () => b.got.length >= 300);
    assert.deepEqual(
      numbers(b.got),
      Array.from({ length: 300 }, (_, i) => i),
    );
  });

  withCluster(
    'a message for one node reaches that node only; a broadcast every node',
    async (c) => {
      const a = await nodeOn(c, 'a');
      const b = await nodeOn(c, 'b');
      const other = await nodeOn(c, 'c');
      a.bus.publish('b', numbered(1));
      a.bus.publish('nobody', numbered(2)); // no such node: dropped, nobody else gets it
      a.bus.broadcast({ kind: 'node-lost', nodeId: 'x', devices: [] });
      for (const n of [a, b, other])
        await until('the broadcast', () => n.got.some((m) => m.kind === 'node-lost'));
      // A message to b sent after the broadcast: b's arrive in order, so b has them all by then.
      a.bus.publish('b', numbered(3));
      a.bus.publish('c', numbered(4));
      await until(
        'the last ones',
        () => numbers(b.got).includes(3) && numbers(other.got).includes(4),
      );
      assert.deepEqual(
        b.got.map((m) => m.kind),
        ['unroute', 'node-lost', 'unroute'],
      );
      assert.deepEqual(numbers(b.got), [1, 3]);
      assert.deepEqual(numbers(other.got), [4]);
      assert.deepEqual(
        a.got.map((m) => m.kind),
        ['node-lost'],
        'the sender hears its broadcast',
      );
    },
  );

  withCluster("every handler of a node gets each message, in the node's order", async (c) => {
    const a = await nodeOn(c, 'a');
    const b = await nodeOn(c, 'b');
    const seen: string[] = [];
    b.bus.subscribe('b', (m) => seen.push(`second:${numbers([m]).join()}`));
    const first = b.got.length;
    a.bus.publish('b', numbered(1));
    a.bus.publish('b', numbered(2));
    await until('both, twice', () => seen.length === 2);
    assert.deepEqual(numbers(b.got.slice(first)), [1, 2]);
    assert.deepEqual(seen, ['second:1', 'second:2']);
  });

  withCluster('an unsubscribed handler hears nothing more; the others carry on', async (c) => {
    const a = await nodeOn(c, 'a');
    const b = await nodeOn(c, 'b');
    const second: BusMessage[] = [];
    const stop = b.bus.subscribe('b', (m) => second.push(m));
    a.bus.publish('b', numbered(1));
    await until('the first, twice', () => second.length === 1 && b.got.length === 1);
    stop();
    a.bus.publish('b', numbered(2));
    a.bus.broadcast(numbered(3));
    // b's first handler has both, so they went past the second one.
    await until('the rest', () => b.got.length === 3);
    assert.deepEqual(numbers(second), [1]);
  });

  withCluster('a closed bus hands nothing more to its handlers', async (c) => {
    const a = await nodeOn(c, 'a');
    const b = await nodeOn(c, 'b');
    a.bus.publish('b', numbered(1));
    await until('the first', () => b.got.length === 1);
    await b.bus.close();
    await b.bus.close(); // idempotent
    a.bus.publish('b', numbered(2));
    a.bus.broadcast(numbered(3));
    if (c.oneProcess) {
      await turn();
    } else {
      // What a still receives shows that the broadcast went out and had time to arrive.
      await until('the broadcast at a', () => numbers(a.got).includes(3));
    }
    assert.deepEqual(numbers(b.got), [1]);
  });

  withCluster('payloads come back as sent: text, SDP, bytes, nested values', async (c) => {
    const a = await nodeOn(c, 'a');
    const b = await nodeOn(c, 'b');
    const to = { userId: 'bob', deviceId: 'b1', clientType: 'web' };
    const chat = chatWithFile(
      'héllo 👋 "quoted" \\ \u0000',
      new Uint8Array([0, 1, 127, 128, 254, 255]),
    );
    const sent: BusMessage[] = [
      { kind: 'deliver', to, event: chat },
      {
        kind: 'relay',
        to,
        event: offerToBob('video', 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=ice-ufrag:ü\r\n'),
      },
      {
        kind: 'device',
        online: false,
        device: { ...to, name: 'Bob', grants: ['call'] },
        graceElapsed: true,
      },
    ];
    for (const m of sent) a.bus.publish('b', m);
    await until('all three', () => b.got.length === sent.length);
    assert.deepEqual(b.got, sent);
    const file = (b.got[0] as { event: { message: { file: unknown } } }).event.message.file;
    assert.ok(file instanceof Uint8Array, 'bytes stay bytes');
  });
}
