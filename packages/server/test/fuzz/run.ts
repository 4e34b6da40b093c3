import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import type { App } from '../../src/app.ts';
import type { TestServer } from '../harness.ts';
import { createMeeting, joinMeeting } from '../meeting-kit.ts';
import { Driver, type FuzzStats, type Violation } from './driver.ts';
import { frameCase } from './frames.ts';
import type { FuzzWorld } from './world.ts';
import { describeRest, restCase, sendRest } from './rest.ts';

/**
 * A seeded fuzz run against a running server: fast-check draws batches of frames (every
 * dialect) and REST requests from the seed, the driver sends them and checks the answers; around
 * it the run watches for crashes (an unhandled rejection or exception in the process) and
 * compares the heap after GC before and after.
 */

/** How a run goes. */
export interface FuzzOptions {
  seed: number;
  /** WebSocket and socket.io frames to send. */
  frames: number;
  /** Frames per batch: sent at once, then every answer awaited. */
  batch?: number;
  /** One REST request per this many frames. */
  restEvery?: number;
  /** How much the heap may be above its baseline after the run. */
  heapToleranceBytes?: number;
  /** Progress lines (the CLI prints them). */
  progress?: (line: string) => void;
}

/** What a run found and measured. */
export interface FuzzReport {
  seed: number;
  frames: number;
  restRequests: number;
  /** REST answers by status. */
  restStatus: Record<string, number>;
  stats: FuzzStats;
  durationMs: number;
  /** Heap used after GC, bytes: before the run (after a warm-up) and after it. */
  heap: { baseline: number; after: number };
  violations: Violation[];
}

/** The users, meetings and rooms of a run (the meetings are created and joined over REST). */
export async function makeWorld(srv: TestServer, users = 6): Promise<FuzzWorld> {
  const names = Array.from({ length: users }, (_v, i) => `fz${i}`);
  // The host is no fuzz user, so that no fuzzed request can end the meetings.
  const meetingIds = [await createMeeting(srv, 'fzhost'), await createMeeting(srv, 'fzhost')];
  for (const m of meetingIds) await joinMeeting(srv, m, ...names);
  return {
    users: names,
    meetingIds,
    roomIds: ['fzroom1', 'fzroom2'],
    chatUsers: names.map((n) => n.replace('fz', 'fzc')),
  };
}

const gc = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Heap used after a full GC. */
export function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Waits until `cond` holds, polling; false after `timeoutMs`. */
async function until(cond: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/** Whether the node holds no connection, call or media room any more. */
async function idle(app: App): Promise<boolean> {
  const { values } = await app.metrics.connections.get();
  const connections = values.reduce((n, v) => n + v.value, 0);
  return connections === 0 && app.engine.size === 0 && app.rtc.size === 0;
}

/** Runs `frames` frames (and the REST requests among them) in batches, checking every answer. */
async function drive(
  srv: TestServer,
  world: FuzzWorld,
  o: FuzzOptions,
  seed: number,
  frames: number,
  phase: string,
) {
  const batch = Math.min(o.batch ?? 200, frames);
  const restEvery = o.restEvery ?? 40;
  const restPerBatch = Math.max(1, Math.round(batch / restEvery));
  const driver = new Driver({
    wsBase: srv.wsBase,
    httpBase: srv.httpBase,
    // The voice grant lets ROOM offers past the grant check.
    token: (u) => srv.token(u, { grants: ['voice'] }),
    world,
    maxFrameBytes: srv.app.config.limits.maxFrameBytes,
  });
  const restStatus: Record<string, number> = {};
  let restRequests = 0;
  let sent = 0;
  await driver.connect();
  await fc.assert(
    fc.asyncProperty(
      fc.array(frameCase(world), { minLength: batch, maxLength: batch }),
      fc.array(restCase(world), { minLength: restPerBatch, maxLength: restPerBatch }),
      async (cases, requests) => {
        const rest = requests.map(async (r) => {
          const out = await sendRest(srv.httpBase, r, (u) => srv.token(u), world.users, 10_000);
          restRequests++;
          if ('failed' in out) {
            // A body over the cap may be refused before it is all sent: the socket closes then.
            if ((r.body?.length ?? 0) <= 65_536) {
              driver.violate('down', `REST ${describeRest(r)} failed: ${out.failed}`);
            }
            return;
          }
          restStatus[out.status] = (restStatus[out.status] ?? 0) + 1;
          if (out.answer.internal) {
            driver.violate(
              'internal',
              `REST ${describeRest(r)} → ${out.status} ${out.answer.error}`,
            );
          }
        });
        for (const c of cases) await driver.send(c);
        await Promise.all([driver.settle(), ...rest]);
        sent += cases.length;
        if (sent % 10_000 < batch)
          o.progress?.(`${phase}: ${sent} frames, ${driver.violations.length} violations`);
      },
    ),
    { seed, numRuns: Math.ceil(frames / batch), endOnFailure: true },
  );
  driver.close();
  return { driver, restStatus, restRequests };
}

/**
 * Fuzzes `srv` (a node with the SFU; see meeting-kit's startMeetingServer) with `o.frames`
 * frames from `o.seed`. A warm-up of a tenth of the frames (from another seed) comes first, so
 * that the baseline heap already holds what the first use of each path allocates once.
 */
export async function fuzz(srv: TestServer, o: FuzzOptions): Promise<FuzzReport> {
  const crashes: Violation[] = [];
  const crashed = (err: unknown) =>
    crashes.push({ kind: 'crash', detail: String((err as Error)?.stack ?? err) });
  process.on('unhandledRejection', crashed);
  process.on('uncaughtException', crashed);
  try {
    const world = await makeWorld(srv);
    const warm = await drive(
      srv,
      world,
      o,
      o.seed + 1,
      Math.max(200, Math.round(o.frames / 10)),
      'warm-up',
    );
    await until(() => idle(srv.app), 20_000);
    const baseline = heapAfterGc();
    const started = performance.now();
    const run = await drive(srv, world, o, o.seed, o.frames, 'run');
    const durationMs = performance.now() - started;
    const violations = [...warm.driver.violations, ...run.driver.violations];
    if (!(await until(() => idle(srv.app), 20_000))) {
      violations.push({
        kind: 'memory',
        detail: 'connections, calls or media rooms remain after the run',
      });
    }
    const after = heapAfterGc();
    const tolerance = o.heapToleranceBytes ?? 16 * 2 ** 20;
    if (after > baseline + tolerance) {
      violations.push({
        kind: 'memory',
        detail: `heap ${mb(after)} after the run, baseline ${mb(baseline)} (+${mb(tolerance)} allowed)`,
      });
    }
    // The server still serves.
    const health = await fetch(`${srv.httpBase}/healthz`).then((r) => r.status, String);
    if (health !== 200) violations.push({ kind: 'down', detail: `/healthz: ${health}` });
    const polluted = ({} as Record<string, unknown>).polluted;
    if (polluted !== undefined)
      violations.push({
        kind: 'crash',
        detail: `Object.prototype polluted: ${JSON.stringify(polluted)}`,
      });
    return {
      seed: o.seed,
      frames: o.frames,
      restRequests: run.restRequests,
      restStatus: run.restStatus,
      stats: run.driver.stats,
      durationMs,
      heap: { baseline, after },
      violations: [...crashes, ...violations],
    };
  } finally {
    process.off('unhandledRejection', crashed);
    process.off('uncaughtException', crashed);
  }
}

/** Bytes as MB with one decimal. */
export const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;
