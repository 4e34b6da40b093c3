import { CloseCode, type Hub } from '../gateway/index.ts';
import type { Logger } from '../observability/index.ts';

/** What a fenced node drops. */
export interface Fenced {
  /** The calls: dropped unended here (the janitor ended them); how many there were. */
  engine: { abandonAll(): number };
  hub: Pick<Hub, 'all'>;
  log: Logger;
}

/**
 * The cluster took this node for dead (it stalled past its liveness TTL) and a janitor has
 * already ended its calls and removed its devices. Serving on would leave its clients
 * unreachable and its calls half alive, so it starts over: its calls are dropped (they are
 * recorded), and every client is disconnected (1012) to connect again, as a new device.
 */
export function fence({ engine, hub, log }: Fenced): void {
  const calls = engine.abandonAll();
  const clients = [...hub.all()];
  log.error(
    { event: 'node_fenced', calls, clients: clients.length },
    'this node was taken for dead: dropping its calls and clients',
  );
  for (const conn of clients) conn.close(CloseCode.Fenced, 'node was taken for dead');
}
