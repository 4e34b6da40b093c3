import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../src/bench/children.ts';

/**
 * The services a fault run breaks on purpose: each is the run's own (a private PostgreSQL
 * cluster, a private redis-server, a small tmpfs), never the machine's shared ones.
 */

const run = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

/** The directory of PostgreSQL's server binaries (initdb, pg_ctl). */
function pgBin(): string {
  try {
    const v = run('ls', ['/usr/lib/postgresql']).trim().split('\n').sort().pop();
    if (v) return `/usr/lib/postgresql/${v}/bin`;
  } catch {
    // fall through
  }
  throw new Error('PostgreSQL server binaries are needed (apt-get install postgresql)');
}

/** A PostgreSQL cluster in a temp directory, run by the `postgres` user on a free port. */
export interface PrivatePostgres {
  url: string;
  /** Stops it the way a crash or an operator would: `immediate` drops every session at once. */
  stop(mode?: 'fast' | 'immediate'): void;
  start(): void;
  remove(): void;
}

export async function privatePostgres(): Promise<PrivatePostgres> {
  const bin = pgBin();
  const dir = mkdtempSync(join(tmpdir(), 'parley-pg-'));
  chownSync(dir, uid('postgres'), gid('postgres'));
  const data = join(dir, 'data');
  const port = await freePort();
  const asPostgres = (tool: string, args: string[]) =>
    run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]);
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const pg: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () =>
      void asPostgres('pg_ctl', [
        '-D',
        data,
        '-l',
        join(dir, 'log'),
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
        '-w',
        'start',
      ]),
    stop: (mode = 'fast') => void asPostgres('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']),
    remove: () => {
      try {
        pg.stop('immediate');
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  pg.start();
  return pg;
}

function uid(user: string): number {
  return Number(run('id', ['-u', user]).trim());
}
function gid(user: string): number {
  return Number(run('id', ['-g', user]).trim());
}

/** A redis-server of the run's own (no persistence), which can be killed and started again. */
export interface PrivateRedis {
  url: string;
  kill(): Promise<void>;
  start(): Promise<void>;
}

export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let proc: ChildProcess | null = null;
  const r: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      proc = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      );
      for (let i = 0; i < 100; i++) {
        try {
          if (run('redis-cli', ['-p', String(port), 'ping']).trim() === 'PONG') return;
        } catch {
          // not yet
        }
        await sleep(100);
      }
      throw new Error(`redis-server did not start on ${port}`);
    },
    async kill() {
      const p = proc;
      proc = null;
      if (!p || p.exitCode !== null) return;
      const exited = new Promise((resolve) => p.once('exit', resolve));
      p.kill('SIGKILL');
      await exited;
    },
  };
  await r.start();
  return r;
}

/** A tmpfs of `mb` MiB mounted on a fresh directory (needs root, as CI has). */
export function smallDisk(mb: number): { dir: string; fill(): void; free(): void; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'parley-disk-'));
  try {
    run('mount', ['-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', dir]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mounting a ${mb} MiB tmpfs needs root: ${(err as Error).message}`);
  }
  const filler = join(dir, 'filler');
  return {
    dir,
    /** Writes a file until the disk is full. */
    fill() {
      const chunk = Buffer.alloc(64 * 1024, 1);
      for (let i = 0; ; i++) {
        try {
          writeFileSync(filler, chunk, { flag: i === 0 ? 'w' : 'a' });
        } catch {
          return;
        }
      }
    },
    free: () => unlinkSync(filler),
    remove() {
      try {
        run('umount', ['-l', dir]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Holds SQLite's write lock on `file` from another process (BEGIN EXCLUSIVE), the way a backup
 * tool or an operator's sqlite3 shell would. Resolves once the lock is held; `release()` commits
 * and ends the process.
 */
export async function lockSqlite(file: string): Promise<{ release(): Promise<void> }> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const proc = spawn(
    process.execPath,
    [
      '-e',
      `const db = new (require(${JSON.stringify(driver)}))(${JSON.stringify(file)});
       db.pragma('busy_timeout = 60000');
       db.exec('BEGIN EXCLUSIVE');
       process.stdout.write('locked\\n');
       process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    proc.stdout.once('data', () => resolve());
    proc.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
  return {
    async release() {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.stdin.write('go\n');
      await exited;
    },
  };
}
