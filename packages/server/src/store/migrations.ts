import {
  sql,
  type ColumnDefinitionBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
} from 'kysely';

/** Column type for a point in time: timestamptz in PostgreSQL, ISO text in SQLite. */
export type TimeType = 'timestamptz' | 'text';

/** Migrations in order. Each is written once and never edited after it ships. */
function migrations(time: TimeType): Record<string, Migration> {
  return {
    '0001_call_records': {
      async up(db: Kysely<unknown>) {
        const idType = time === 'timestamptz' ? 'bigserial' : 'integer';
        await db.schema
          .createTable('call_records')
          .addColumn('id', sql.raw(idType), (c) =>
            time === 'text' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('call_id', 'varchar(80)', (c) => c.notNull().unique())
          .addColumn('caller_id', 'varchar(128)', (c) => c.notNull())
          .addColumn('callee_id', 'varchar(128)', (c) => c.notNull())
          .addColumn('call_type', 'smallint', (c) => c.notNull().defaultTo(1))
          .addColumn('status', 'smallint', (c) => c.notNull().defaultTo(0))
          .addColumn('start_time', sql.raw(time))
          .addColumn('end_time', sql.raw(time))
          .addColumn('duration', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', sql.raw(time), (c) => c.notNull())
          .addColumn('updated_at', sql.raw(time), (c) => c.notNull())
          .addColumn('media', 'varchar(8)', (c) => c.notNull())
          .addColumn('end_reason', 'varchar(32)')
          .addColumn('caller_device', 'varchar(64)', (c) => c.notNull())
          .addColumn('answered_device', 'varchar(64)')
          .addColumn('answered_client_type', 'varchar(32)')
          .addColumn('ring_ms', 'integer')
          .addColumn('owner_node', 'varchar(64)', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('idx_caller_id')
          .on('call_records')
          .column('caller_id')
          .execute();
        await db.schema
          .createIndex('idx_callee_id')
          .on('call_records')
          .column('callee_id')
          .execute();
        await db.schema
          .createIndex('idx_created_at')
          .on('call_records')
          .column('created_at')
          .execute();
        await db.schema
          .createIndex('idx_live_calls')
          .on('call_records')
          .columns(['owner_node', 'end_time'])
          .execute();
      },
    },
    '0002_meetings': {
      async up(db: Kysely<unknown>) {
        const idType = time === 'timestamptz' ? 'bigserial' : 'integer';
        const id = (c: ColumnDefinitionBuilder) =>
          time === 'text' ? c.primaryKey().autoIncrement() : c.primaryKey();
        await db.schema
          .createTable('meetings')
          .addColumn('id', sql.raw(idType), id)
          .addColumn('meeting_id', 'varchar(36)', (c) => c.notNull().unique())
          .addColumn('title', 'varchar(200)')
          .addColumn('host_id', 'varchar(128)', (c) => c.notNull())
          .addColumn('status', 'varchar(16)', (c) => c.notNull())
          .addColumn('created_at', sql.raw(time), (c) => c.notNull())
          .addColumn('ended_at', sql.raw(time))
          .addColumn('ended_by', 'varchar(128)')
          .execute();
        await db.schema
          .createTable('meeting_participants')
          .addColumn('id', sql.raw(idType), id)
          .addColumn('meeting_id', 'varchar(36)', (c) => c.notNull())
          .addColumn('user_id', 'varchar(128)', (c) => c.notNull())
          .addColumn('nickname', 'varchar(64)', (c) => c.notNull())
          .addColumn('role', 'varchar(16)', (c) => c.notNull())
          .addColumn('joined_at', sql.raw(time), (c) => c.notNull())
          .addColumn('left_at', sql.raw(time))
          .execute();
        // One open stay per user and meeting: concurrent joins cannot both insert.
        await db.schema
          .createIndex('idx_participant_open')
          .unique()
          .on('meeting_participants')
          .columns(['meeting_id', 'user_id'])
          .where(sql.ref('left_at'), 'is', null)
          .execute();
        await db.schema
          .createIndex('idx_participant_meeting')
          .on('meeting_participants')
          .columns(['meeting_id', 'joined_at'])
          .execute();
      },
    },
    '0003_node_last_seen': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('node_last_seen')
          .addColumn('node_id', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('seen_at', sql.raw(time), (c) => c.notNull())
          .execute();
      },
    },
    '0004_meetings_live_by_host': {
      // The per-host cap counts a host's live meetings on every create.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createIndex('idx_meetings_live_host')
          .on('meetings')
          .column('host_id')
          .where(sql.ref('status'), '=', 'active')
          .execute();
      },
    },
    '0005_call_records_media': {
      // What the parties' devices reported of their peer-to-peer media (call:media).
      async up(db: Kysely<unknown>) {
        await db.schema
          .alterTable('call_records')
          .addColumn('media_connected_at', sql.raw(time))
          .execute();
        await db.schema
          .alterTable('call_records')
          .addColumn('media_failed_reason', 'varchar(128)')
          .execute();
      },
    },
    '0006_webhook_outbox': {
      // Webhook events, one row per event and endpoint, written in the transaction of the
      // change each announces (issue #16); a deliverer sends them and marks them sent or dead.
      async up(db: Kysely<unknown>) {
        const idType = time === 'timestamptz' ? 'bigserial' : 'integer';
        await db.schema
          .createTable('webhook_outbox')
          .addColumn('id', sql.raw(idType), (c) =>
            time === 'text' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('endpoint', 'varchar(64)', (c) => c.notNull())
          .addColumn('msg_id', 'varchar(64)', (c) => c.notNull())
          .addColumn('type', 'varchar(32)', (c) => c.notNull())
          .addColumn('stream', 'varchar(200)', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('created_at', sql.raw(time), (c) => c.notNull())
          .addColumn('status', 'varchar(8)', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_at', sql.raw(time), (c) => c.notNull())
          .addColumn('last_error', 'varchar(300)')
          .addColumn('done_at', sql.raw(time))
          .execute();
        // A write replayed from the journal inserts nothing twice.
        await db.schema
          .createIndex('idx_outbox_msg')
          .unique()
          .on('webhook_outbox')
          .columns(['endpoint', 'msg_id'])
          .execute();
        await db.schema
          .createIndex('idx_outbox_pending')
          .on('webhook_outbox')
          .columns(['endpoint', 'stream', 'id'])
          .where(sql.ref('status'), '=', 'pending')
          .execute();
        await db.schema
          .createIndex('idx_outbox_done')
          .on('webhook_outbox')
          .columns(['status', 'done_at'])
          .execute();
      },
    },
    '0007_token_revocations': {
      // Revoked tokens: by id until they expire, or a user's tokens issued before a time.
      // Times in epoch ms, compared as numbers on every node's in-memory list.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('token_revocations')
          .addColumn('kind', 'varchar(8)', (c) => c.notNull())
          .addColumn('subject', 'varchar(256)', (c) => c.notNull())
          .addColumn('at_ms', 'bigint', (c) => c.notNull())
          .addColumn('created_at', sql.raw(time), (c) => c.notNull())
          .addPrimaryKeyConstraint('token_revocations_pk', ['kind', 'subject'])
          .execute();
      },
    },
  };
}

/** Supplies the migrations to Kysely's Migrator. */
export class StaticMigrationProvider implements MigrationProvider {
  constructor(private readonly time: TimeType) {}
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(migrations(this.time));
  }
}
