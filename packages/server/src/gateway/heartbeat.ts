import type { Config } from '../config/index.ts';
import type { DeviceConnection } from './hub.ts';

/** Connections one heartbeat batch handles before other work gets a turn. */
const BATCH = 512;

/** Ping every `intervalMs`; drop a connection that has not answered a ping within `timeoutMs`. */
export type HeartbeatTimes = Config['heartbeat'];

/**
 * How often the heartbeat sweep runs: half the shorter of the two times, so that a ping goes
 * out close to every `intervalMs` and an unanswered one is dropped between `timeoutMs` and
 * 1.5 × `timeoutMs` after it, not only at the next ping.
 */
export function heartbeatTickMs(beat: HeartbeatTimes): number {
  return Math.max(1, Math.floor(Math.min(beat.intervalMs, beat.timeoutMs) / 2));
}

/**
 * Whether a connection whose ping interval counts from `from` (its last ping) is due a ping.
 * Half a tick early counts as due, so that timer jitter does not push a ping to the tick after.
 */
export function pingDue(now: number, from: number, beat: HeartbeatTimes): boolean {
  return now - from >= beat.intervalMs - heartbeatTickMs(beat) / 2;
}

/**
 * Gives every connection one heartbeat tick (see `DeviceConnection.heartbeat`), `batch` at a
 * time with a turn of the event loop between batches. A node with tens of thousands of sockets
 * would otherwise hold up its relaying for the whole sweep. The iterator is live: a socket that
 * closes meanwhile is skipped, one that opens is swept too.
 */
export function sweepHeartbeats(
  conns: Iterator<DeviceConnection>,
  now: number,
  beat: HeartbeatTimes,
  batch = BATCH,
): void {
  for (let n = 0; n < batch; n++) {
    const next = conns.next();
    if (next.done) return;
    next.value.heartbeat(now, beat);
  }
  setImmediate(sweepHeartbeats, conns, now, beat, batch);
}
