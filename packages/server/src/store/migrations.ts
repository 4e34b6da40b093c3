import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

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
  };
}

/** Supplies the migrations to Kysely's Migrator. */
export class StaticMigrationProvider implements MigrationProvider {
  constructor(private readonly time: TimeType) {}
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(migrations(this.time));
  }
}
