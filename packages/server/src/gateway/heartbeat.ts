import type { DeviceConnection } from './hub.ts';

/** Connections one heartbeat batch handles before other work gets a turn. */
const BATCH = 512;

/**
 * Pings every connection once, or drops the ones silent past `timeoutMs`, `batch` at a time
 * with a turn of the event loop between batches. A node with tens of thousands of sockets
 * would otherwise hold up its relaying for the whole sweep every heartbeat interval. The
 * iterator is live: a socket that closes meanwhile is skipped, one that opens is pinged too.
 */
export function sweepHeartbeats(
  conns: Iterator<DeviceConnection>,
  now: number,
  timeoutMs: number,
  batch = BATCH,
): void {
  for (let n = 0; n < batch; n++) {
    const next = conns.next();
    if (next.done) return;
    next.value.heartbeat(now, timeoutMs);
  }
  setImmediate(sweepHeartbeats, conns, now, timeoutMs, batch);
}
