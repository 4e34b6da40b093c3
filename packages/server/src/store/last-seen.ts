import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

const asMs = (v: unknown): number =>
  v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;

/**
 * Each node's last sign of life (`node_last_seen`): one small upsert every few seconds, so
 * that what a node killed without warning left open can be ended at the time it was last seen.
 */
export class LastSeen {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records that `nodeId` is alive at `at`. */
  async touch(nodeId: string, at: number): Promise<void> {
    const seen_at = new Date(at).toISOString();
    await this.db
      .insertInto('node_last_seen')
      .values({ node_id: nodeId, seen_at })
      .onConflict((oc) => oc.column('node_id').doUpdateSet({ seen_at }))
      .execute();
  }

  /** When each node other than `nodeId` was last seen (epoch ms). */
  async others(nodeId: string): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('node_last_seen')
      .selectAll()
      .where('node_id', '<>', nodeId)
      .execute();
    return new Map(rows.map((r) => [r.node_id, asMs(r.seen_at)]));
  }

  /** Forgets nodes whose leftovers have been finalised. */
  async forget(nodeIds: readonly string[]): Promise<void> {
    if (nodeIds.length === 0) return;
    await this.db.deleteFrom('node_last_seen').where('node_id', 'in', nodeIds).execute();
  }
}
