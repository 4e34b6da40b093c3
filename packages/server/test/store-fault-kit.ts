import { execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { of, ok, type Frame, type TestClient } from './harness.ts';

/**
 * `caller` calls `calleeId` (the user of `callee`), who answers, and they exchange offer and
 * answer (so that ICE is relayed at once); returns the call id.
 */
export async function answeredCall(
  caller: TestClient,
  callee: TestClient,
  calleeId: string,
): Promise<string> {
  const { callId } = (await ok(caller, 'call:invite', { callee: calleeId, media: 'audio' }))
    .data as { callId: string };
  await callee.next(of('call:incoming', callId));
  await ok(callee, 'call:accept', { callId });
  await caller.next(of('call:accepted', callId));
  caller.send({ type: 'call:offer', data: { callId, sdp: 'v=0 offer' } });
  await callee.next(of('call:offer', callId));
  callee.send({ type: 'call:answer', data: { callId, sdp: 'v=0 answer' } });
  await caller.next(of('call:answer', callId));
  return callId;
}

/** GET a JSON endpoint: status and body. */
export async function getJson(
  url: string,
  token?: string,
): Promise<{ status: number; body: Frame }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as Frame };
}

/** The value of one unlabelled sample of a Prometheus exposition (NaN when absent). */
export function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : NaN;
}

/** Relays one ICE candidate from `from` to `to` and returns how long it took (ms). */
export async function iceLatency(
  from: TestClient,
  to: TestClient,
  callId: string,
  n: number,
): Promise<number> {
  const t0 = performance.now();
  from.send({ type: 'call:ice', data: { callId, candidate: { candidate: `c-${n}` } } });
  await to.next((f) => of('call:ice', callId)(f) && f.data.candidate?.candidate === `c-${n}`);
  return performance.now() - t0;
}

/**
 * Another process that holds SQLite's write lock on `file` (BEGIN EXCLUSIVE) until `release()`.
 * Resolves once the lock is held.
 */
export async function lockSqlite(file: string): Promise<{ release: () => Promise<void> }> {
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  const code = `
    const db = require('better-sqlite3')(process.argv[1]);
    db.pragma('busy_timeout = 10000');
    db.exec('BEGIN EXCLUSIVE');
    process.stdout.write('locked\\n');
    process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });`;
  const proc = spawn(process.execPath, ['-e', code, file], {
    cwd,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    proc.stdout.once('data', () => resolve());
    proc.once('exit', (c) => reject(new Error(`the locking process exited (${c})`)));
  });
  return {
    release: async () => {
      proc.stdin.write('go\n');
      await exited;
    },
  };
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** Runs a command to completion as the postgres user (PostgreSQL refuses to run as root). */
function asPostgres(cmd: string, args: string[]): Promise<void> {
  const [file, argv] =
    process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const p = spawn(file, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.once('error', reject);
    p.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: ${code}\n${err}`)),
    );
  });
}

/** A private PostgreSQL cluster (its own temp dir and port), never the machine's shared one. */
export interface PrivatePostgres {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  remove(): Promise<void>;
}

/** initdb + pg_ctl of PostgreSQL 15 (apt install postgresql-15) in a temp dir, on `port`. */
export async function privatePostgres(port: number): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-pg-'));
  if (process.getuid?.() === 0) chownSync(dir, ...postgresIds());
  const data = join(dir, 'data');
  await asPostgres(`${PG_BIN}/initdb`, ['-D', data, '-A', 'trust', '-U', 'postgres']).catch(
    (err: unknown) => {
      throw new Error(`PostgreSQL 15 is needed (apt install postgresql-15): ${String(err)}`);
    },
  );
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`;
  const pg = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () => asPostgres(`${PG_BIN}/pg_ctl`, ['-D', data, '-o', opts, '-w', 'start']),
    stop: () => asPostgres(`${PG_BIN}/pg_ctl`, ['-D', data, '-m', 'fast', '-w', 'stop']),
    async remove() {
      await pg.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  return pg;
}

function postgresIds(): [number, number] {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user (apt install postgresql-15)');
  const [, , uid, gid] = line.split(':');
  return [Number(uid), Number(gid)];
}

/** A small tmpfs of its own (root only: mount), to fill up; `remove()` unmounts it. */
export function tinyFilesystem(sizeKb: number): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'parley-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `this test mounts a tmpfs: run it as root (or with CAP_SYS_ADMIN): ${String(err)}`,
    );
  }
  return {
    dir,
    remove: () => {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the filesystem of `dir` with one file, to the last byte; returns that file. */
export function fillUp(dir: string): string {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let size = chunk.length; size >= 1;) {
      try {
        writeSync(fd, chunk, 0, size);
      } catch {
        size = Math.floor(size / 2);
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}
