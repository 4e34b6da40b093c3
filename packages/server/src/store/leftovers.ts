import type { CallRecordStore, AbandonedCall } from './call-records.ts';
import type { LastSeen } from './last-seen.ts';
import type { MeetingStore } from './meetings.ts';

/** What a restarted single node found open and ended. */
export interface Leftovers {
  calls: AbandonedCall[];
  stays: number;
}

/**
 * On the start of a single node (no cluster, so every row in the store is its own): ends the
 * calls and meeting stays that a previous run left open when it was killed without warning,
 * at that run's last sign of life (`node_restart`), and forgets those runs. A call's end is
 * never before its row's last write.
 */
export async function endLeftovers(o: {
  nodeId: string;
  records: CallRecordStore;
  meetings: MeetingStore;
  lastSeen: LastSeen;
}): Promise<Leftovers> {
  const seen = await o.lastSeen.others(o.nodeId);
  const calls: AbandonedCall[] = [];
  for (const owner of await o.records.unendedOwners()) {
    calls.push(...(await o.records.abandon(owner, 'node_restart', seen.get(owner) ?? 0)));
  }
  const latest = Math.max(0, ...seen.values());
  const stays = await o.meetings.closeOpenStays(latest);
  await o.lastSeen.forget([...seen.keys()]);
  return { calls, stays };
}
