import type { Kysely } from 'kysely';
import type { Revocation } from '../core/index.ts';
import type { Database } from './schema.ts';

/**
 * The revocations of tokens (`token_revocations`), for the lists the nodes keep in memory:
 * written once by the node that revokes, read whole at start and on each refresh.
 */
export class RevocationStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Stores a revocation; a user's cut-off only ever moves later. */
  async add(r: Revocation): Promise<void> {
    const [subject, at] = r.kind === 'jti' ? [r.jti, r.expiresAt] : [r.userId, r.before];
    const created_at = new Date(this.clock()).toISOString();
    const existing = await this.db
      .selectFrom('token_revocations')
      .select('at_ms')
      .where('kind', '=', r.kind)
      .where('subject', '=', subject)
      .executeTakeFirst();
    if (existing && Number(existing.at_ms) >= at) return;
    await this.db
      .insertInto('token_revocations')
      .values({ kind: r.kind, subject, at_ms: at, created_at })
      .onConflict((oc) => oc.columns(['kind', 'subject']).doUpdateSet({ at_ms: at, created_at }))
      .execute();
  }

  /** Every revocation in force; ids of tokens that have expired are deleted instead. */
  async all(): Promise<Revocation[]> {
    const now = this.clock();
    await this.db
      .deleteFrom('token_revocations')
      .where('kind', '=', 'jti')
      .where('at_ms', '<=', now)
      .execute();
    const rows = await this.db.selectFrom('token_revocations').selectAll().execute();
    return rows.map((r) =>
      r.kind === 'jti'
        ? { kind: 'jti', jti: r.subject, expiresAt: Number(r.at_ms) }
        : { kind: 'user', userId: r.subject, before: Number(r.at_ms) },
    );
  }
}
