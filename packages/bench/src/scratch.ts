import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { deletePrefix, openDatabase } from '@parley/server';

/**
 * The shared services of a benchmark's cluster nodes: a PostgreSQL schema and a Redis key
 * prefix of its own, removed afterwards.
 */
export interface Scratch {
  /** The database URL, with the schema as its search path. */
  databaseUrl: string;
  redisUrl: string;
  /** The nodes' `cluster.prefix`. */
  prefix: string;
  /** Drops the schema and every key under the prefix. */
  drop(): Promise<void>;
}

/** The services a benchmark's cluster uses unless told otherwise: this machine's. */
export const LOCAL_SERVICES = {
  redisUrl: 'redis://127.0.0.1:6379',
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/test',
} as const;

/** Why Redis or PostgreSQL cannot serve a cluster (what is missing where), or null. */
export async function servicesProblem(
  redisUrl: string,
  databaseUrl: string,
): Promise<string | null> {
  const r = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await r.connect();
  } catch (err) {
    return `Redis at ${redisUrl} (REDIS_URL): ${(err as Error).message}`;
  } finally {
    r.disconnect();
  }
  const db = openDatabase({ databaseUrl, dataDir: '' });
  try {
    await sql`select 1`.execute(db.kysely);
  } catch (err) {
    return `PostgreSQL at ${databaseUrl} (DATABASE_URL): ${(err as Error).message}`;
  } finally {
    await db.kysely.destroy();
  }
  return null;
}

/** Creates a fresh schema and picks a fresh key prefix, both named `parley_<kind>_<random>`. */
export async function openScratch(
  redisUrl: string,
  databaseUrl: string,
  kind: string,
): Promise<Scratch> {
  const tag = randomBytes(3).toString('hex');
  const schema = `parley_${kind}_${tag}`;
  const admin = openDatabase({ databaseUrl, dataDir: '' });
  await sql.raw(`create schema ${schema}`).execute(admin.kysely);
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const prefix = `parley-${kind}-${tag}`;
  return {
    databaseUrl: url.toString(),
    redisUrl,
    prefix,
    async drop() {
      await sql
        .raw(`drop schema ${schema} cascade`)
        .execute(admin.kysely)
        .catch(() => undefined);
      await admin.kysely.destroy();
      const r = new Redis(redisUrl, { maxRetriesPerRequest: 0 });
      try {
        await deletePrefix(r, prefix);
      } finally {
        r.disconnect();
      }
    },
  };
}
