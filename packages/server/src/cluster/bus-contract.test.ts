import { after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { Bus, BusMessage } from '../core/index.ts';
import { busContract } from './bus-contract.kit.ts';
import { linkedNode, Peers } from './bus-fixtures.kit.ts';
import { MemoryBus } from './memory-bus.ts';
import { RedisBus } from './redis-bus.ts';
import { deletePrefix, keysFor } from './redis.ts';

/** The Bus contract, run against every bus there is (real Redis for the Redis ones). */

const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = `parley_bus_${process.pid}_${Date.now().toString(36)}`;
const log = pino({ level: 'silent' });
let clusters = 0;

after(async () => {
  const r = new Redis(REDIS_URL);
  await deletePrefix(r, run);
  r.disconnect();
});

busContract('memory bus', () => {
  const bus = new MemoryBus();
  return Promise.resolve({
    join: (nodeId, handler) => {
      bus.subscribe(nodeId, handler);
      return Promise.resolve(bus);
    },
    close: () => bus.close(),
    oneProcess: true,
  });
});

/** Each node's RedisBus on its own connections; `wrap` may put links around it. */
function redisCluster(wrap?: (bus: RedisBus, nodeId: string) => Promise<Bus>) {
  return () => {
    const keys = keysFor(`${run}_${++clusters}`);
    const opened: Redis[] = [];
    const buses: Bus[] = [];
    const connect = () => {
      const r = new Redis(REDIS_URL, { enableAutoPipelining: false });
      opened.push(r);
      return r;
    };
    return Promise.resolve({
      join: async (nodeId: string, handler: (m: BusMessage) => void) => {
        const pub = connect();
        const redisBus = new RedisBus(pub, connect(), keys, log);
        const bus = wrap ? await wrap(redisBus, nodeId) : redisBus;
        buses.push(bus);
        bus.subscribe(nodeId, handler);
        // What is published before Redis has the SUBSCRIBEs is lost: wait until it has them.
        for (const [channel, n] of [
          [keys.channel(nodeId), 1],
          [keys.broadcast, buses.length],
        ] as const) {
          for (const end = Date.now() + 10_000; ; await sleep(5)) {
            const [, subs] = (await pub.pubsub('NUMSUB', channel)) as [string, number];
            if (subs >= n) break;
            if (Date.now() > end) assert.fail(`${nodeId} never subscribed to ${channel}`);
          }
        }
        return bus;
      },
      close: async () => {
        for (const b of buses) await b.close();
        for (const r of opened) r.disconnect();
      },
    });
  };
}

busContract('redis bus', redisCluster());

busContract('redis bus with direct links', () => {
  const peers = new Peers();
  return redisCluster(async (redisBus, nodeId) => {
    const { bus } = await linkedNode(nodeId, redisBus, peers, log);
    return bus;
  })();
});
