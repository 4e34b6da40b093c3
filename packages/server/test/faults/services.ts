import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@parley/bench/children';

/**
 * A redis-server of a fault run's own, to kill and start again under traffic (never the
 * machine's shared one). The store faults use the store tests' kit (store-fault-kit.ts).
 */

const run = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

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
