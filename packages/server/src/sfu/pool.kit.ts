import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { loadConfig } from '../config/index.ts';
import { Metrics } from '../observability/index.ts';
import { SfuPool } from './pool.ts';

/**
 * The SFU's test fixture: pools of real mediasoup workers (no mocks), and a bounded poll for
 * what the workers do in their own time.
 */

/** `bin` when it exists; otherwise throws how to build it (a missing worker never skips a test). */
export function requireWorkerBin(bin: string | undefined): string {
  if (!bin || !existsSync(bin)) {
    throw new Error(
      `the mediasoup worker binary is needed (${bin ?? 'not found in ~/.cache/parley'}): ` +
        'build it once with `bash scripts/mediasoup-worker.sh` (a few minutes) and/or set ' +
        'MEDIASOUP_WORKER_BIN to the path it prints',
    );
  }
  return bin;
}

/** A pool of the real worker, configured from the environment with `sfu` over it. */
export function testPool(sfu: Record<string, unknown>): SfuPool {
  const config = loadConfig(process.env, { sfu });
  requireWorkerBin(config.sfu.workerBin);
  return new SfuPool({ sfu: config.sfu, log: pino({ level: 'silent' }), metrics: new Metrics() });
}

/** Polls `check` every 20 ms until it holds; a bound (15 s, two loaded cores), not a budget. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
