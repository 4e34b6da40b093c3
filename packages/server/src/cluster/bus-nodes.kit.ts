import { pino } from 'pino';
import type { Sender } from '../core/index.ts';
import { BusRouter } from './bus-router.ts';
import { MemoryBus } from './memory-bus.ts';
import { Rpc } from './rpc.ts';

/**
 * Nodes in one process for the routers' unit tests: a MemoryBus, and for each node its
 * router and request/reply (no sockets, no Redis; the bus contract shows the real buses
 * behave the same).
 */
export function busNodes(...ids: string[]) {
  const bus = new MemoryBus();
  const log = pino({ level: 'silent' });
  const nodes = new Map(
    ids.map((id) => {
      const router = new BusRouter(bus, id);
      const rpc = new Rpc(id, bus, 5_000, log);
      rpc.listen(router);
      return [id, { id, router, rpc }] as const;
    }),
  );
  const node = (id: string) => nodes.get(id)!;
  return { bus, log, node, close: () => nodes.forEach((n) => n.rpc.close()) };
}

/** A device of `userId`. */
export const device = (userId: string, deviceId = `${userId}-d`): Sender => ({
  userId,
  deviceId,
  clientType: 'web',
  name: userId.toUpperCase(),
  grants: [],
});

/** Waits until what the bus carried has been handled (it delivers in microtasks). */
export const settled = (): Promise<void> => new Promise((r) => setImmediate(r));
