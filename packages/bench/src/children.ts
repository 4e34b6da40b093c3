import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { NODE_FLAGS } from '@parley/server';

/**
 * The servers under test, each in its own child process so that its CPU time can be read from
 * /proc while the load generator (this process) runs on the other core.
 */

/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in ticks of 1/100 s on every mainstream kernel. */
const CLK_TCK = 100;

/**
 * CPU pinning with taskset(1): the server under test on one core, the load generator on the
 * other, so that the scheduler does not now and then stack them on one core (which made
 * trials vary by a third). Both servers get the same core.
 */
export interface Pinning {
  serverCpu: number;
  clientCpu: number;
  /** Puts this process (every thread) back on the CPUs it had. */
  restore(): void;
}

/** Pins this process to `clientCpu`; undefined where taskset or a second CPU is missing. */
export function pinClient(serverCpu = 0, clientCpu = 1): Pinning | undefined {
  try {
    const out = execFileSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' });
    const mask = /mask:\s*([0-9a-f]+)/i.exec(out)?.[1];
    const allowed = mask ? parseInt(mask, 16) : 0;
    if (!mask || !(allowed & (1 << serverCpu)) || !(allowed & (1 << clientCpu))) return undefined;
    execFileSync('taskset', ['-a', '-p', '-c', String(clientCpu), String(process.pid)], {
      stdio: 'ignore',
    });
    return {
      serverCpu,
      clientCpu,
      restore: () => {
        try {
          execFileSync('taskset', ['-a', '-p', mask, String(process.pid)], { stdio: 'ignore' });
        } catch {
          // best effort: the process is about to finish anyway
        }
      },
    };
  } catch {
    return undefined;
  }
}

/** `command args` as spawn arguments, run under `taskset -c cpu` when `cpu` is given. */
export function pinned(
  cpu: number | undefined,
  command: string,
  args: string[],
): [string, string[]] {
  return cpu === undefined ? [command, args] : ['taskset', ['-c', String(cpu), command, ...args]];
}

/** A free TCP port on `host` (bound and released; the child binds it right after). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * User + system CPU time of a whole process (all threads) and of the processes it started (the
 * server's SQLite process) in µs; undefined without /proc.
 */
export function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const f = statFields(pid);
  if (f === undefined) return undefined;
  const own = ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK; // utime, stime (fields 14, 15)
  return own + childrenMicros(pid);
}

/**
 * Page faults (minor and major) of process `pid` so far; undefined without /proc. Many in a
 * trial are the kernel mapping memory the server touches anew (a heap that grows, or pages it
 * gave back and takes again), each costing microseconds while the server waits: in the open
 * loop they were behind Parley's p99 outliers (README, "PeerJS run as its users run it").
 */
export function pageFaults(pid: number | undefined): number | undefined {
  const f = pid === undefined ? undefined : statFields(pid);
  return f && Number(f[7]) + Number(f[9]); // minflt, majflt (fields 10, 12)
}

/** /proc/<pid>/stat's fields from the third (the state) on; undefined without it. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after it are space-separated.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The CPU time of the live children that `pid`'s main thread started (0 without /proc). */
function childrenMicros(pid: number): number {
  let children: string;
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    return 0;
  }
  let total = 0;
  for (const c of children.split(' ').filter(Boolean)) total += cpuMicros(Number(c)) ?? 0;
  return total;
}

/**
 * Waits until the machine has a core to spare: at most `busyCores` cores' worth of CPU busy over
 * a 100 ms window (machineMicros), or `maxMs` passed. Resolves how long it waited (ms).
 */
export async function settle(busyCores = 1, maxMs = 5_000): Promise<number> {
  const start = performance.now();
  let [at, busy] = [start, machineMicros()];
  while (busy !== undefined && performance.now() - start < maxMs) {
    await delay(100);
    const [now, nowBusy] = [performance.now(), machineMicros()!];
    if ((nowBusy - busy) / ((now - at) * 1_000) <= busyCores) break;
    [at, busy] = [now, nowBusy];
  }
  return performance.now() - start;
}

/**
 * CPU time all cores spent busy (user, nice, system, irq, softirq, steal) in µs, from
 * /proc/stat; less the server's, the load generator's and the softirq threads', it is what
 * other processes on the machine took.
 */
export function machineMicros(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').slice(0, 256).split('\n')[0]!;
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return ((user! + nice! + system! + irq! + softirq! + steal!) * 1e6) / CLK_TCK;
  } catch {
    return undefined;
  }
}

let softirqPids: number[] | undefined;

/**
 * CPU time of the kernel's softirq threads (ksoftirqd/N) in µs: loopback network work that
 * the kernel defers there is charged to no process of the bench, yet it is the bench's.
 */
export function softirqMicros(): number | undefined {
  try {
    softirqPids ??= readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return readFileSync(`/proc/${d}/comm`, 'utf8').startsWith('ksoftirqd/');
        } catch {
          return false;
        }
      })
      .map(Number);
    let total = 0;
    for (const pid of softirqPids) total += cpuMicros(pid) ?? 0;
    return total;
  } catch {
    return undefined;
  }
}

/** A running server child. */
export interface ServerChild {
  readonly name: string;
  readonly pid: number;
  /** The last output lines, for diagnostics when it fails. */
  tail(): string;
  /** Log lines at warn level or above that the child wrote. */
  warnings(): number;
  /** The first few of those lines, to print with the count (a count alone explains nothing). */
  firstWarnings(): string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Warning lines a child keeps to print. */
const FIRST_WARNINGS = 3;

function watch(name: string, proc: ChildProcess): ServerChild & { exited: Promise<number | null> } {
  let tail = '';
  let warnings = 0;
  const first: string[] = [];
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    // The server logs level names (see observability/logger.ts); warn and worse count.
    const lines = text.split('\n').filter((l) => /"level":"(?:WARN|ERROR|FATAL)"/.test(l));
    warnings += lines.length;
    first.push(
      ...lines.slice(0, Math.max(0, FIRST_WARNINGS - first.length)).map((l) => l.slice(0, 400)),
    );
    tail = (tail + text).slice(-8192);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve(proc.exitCode);
    else proc.once('exit', (code) => resolve(code));
  });
  return {
    name,
    pid: proc.pid!,
    exited,
    tail: () => tail,
    warnings: () => warnings,
    firstWarnings: () => [...first],
    async stop(graceMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * How long a child may take to be ready. Run from the sources, a start loads the whole module
 * graph through tsx (and the SQLite child does again): measured at 11-35 s at load 12-14, so
 * the bound only catches a child that never comes up.
 */
const READY_MS = 120_000;

/** Resolves when `ready` does, rejects if the child exits first or `timeoutMs` passes. */
async function readyOrFail(
  child: ServerChild & { exited: Promise<number | null> },
  ready: Promise<void>,
  timeoutMs: number,
): Promise<ServerChild> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ready,
      child.exited.then((code) => {
        throw new Error(`${child.name} exited with code ${code}:\n${child.tail()}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${child.name} not ready in ${timeoutMs} ms:\n${child.tail()}`)),
          timeoutMs,
        );
      }),
    ]);
    return child;
  } catch (err) {
    await child.stop(2000);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Environment variables that would point the child away from a fresh local SQLite store. */
const STRIP = ['DATABASE_URL', 'REDIS_URL', 'PARLEY_CONFIG', 'PORT', 'HOST', 'PARLEY_DATA_DIR'];

/** The environment `parley start` runs with in the bench (also used to read its limits). */
export function parleyEnv(o: { port: number; dataDir: string; secret: string }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of STRIP) delete env[k];
  return {
    ...env,
    HOST: '127.0.0.1',
    PORT: String(o.port),
    PARLEY_DATA_DIR: o.dataDir,
    PARLEY_JWT_SECRET: o.secret,
    LOG_LEVEL: 'warn',
  };
}

/**
 * Builds the server's JavaScript (dist/) as `npm start` does before it runs it (incremental:
 * seconds when nothing changed). With the build, a child started with `builtEnv` runs what an
 * operator's server runs. From the sources instead, it runs under tsx, whose module loader
 * keeps a thread with a V8 isolate of its own: idle between trials, that isolate's memory
 * reducer ran mark-compacts of 26–49 ms during Parley's measurements, on its one pinned core.
 */
export async function buildParley(): Promise<void> {
  const root = fileURLToPath(new URL('..', import.meta.resolve('@parley/server')));
  await promisify(execFile)('npm', ['run', '-s', 'build'], { cwd: root });
}

/** `env` for a child that runs the build (see buildParley): no NODE_ENV, as `npm start` has. */
export function builtEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const built = { ...env };
  delete built.NODE_ENV;
  return built;
}

/**
 * Starts `node bin/parley.mjs start` as an operator would (with the bin's V8 flags), with
 * default limits (rate limiting on): the build with `builtEnv` (see buildParley), else, under
 * NODE_ENV=test or development, the sources. `cpuProfDir` adds --cpu-prof (the profile is written on graceful exit).
 */
export function startParley(
  env: NodeJS.ProcessEnv,
  cpuProfDir?: string,
  cpu?: number,
): Promise<ServerChild> {
  const bin = fileURLToPath(new URL('../bin/parley.mjs', import.meta.resolve('@parley/server')));
  const args = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  // taskset execs node in place, so the pid is node's own.
  const proc = spawn(...pinned(cpu, process.execPath, [...NODE_FLAGS, ...args, bin, 'start']), {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child = watch('parley', proc);
  const ready = new Promise<void>((resolve) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-4096);
      if (seen.includes('Parley is listening')) {
        proc.stdout?.off('data', onData);
        resolve();
      }
    };
    proc.stdout?.on('data', onData);
  });
  return readyOrFail(child, ready, READY_MS);
}

/** Whether the `peer` package (a dev dependency) can be loaded. */
export function peerAvailable(): boolean {
  try {
    import.meta.resolve('peer');
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts the PeerJS server (`PeerServer` from 'peer', default options) in a child process, by
 * plain `node` as its users run it (no tsx, see peerjs-child.mjs).
 */
export function startPeerJs(
  port: number,
  clients: number,
  cpuProfDir?: string,
  cpu?: number,
): Promise<ServerChild> {
  const entry = fileURLToPath(new URL('./peerjs-child.mjs', import.meta.url));
  const prof = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  const args = [...prof, entry];
  const proc = spawn(...pinned(cpu, process.execPath, args), {
    env: {
      ...process.env,
      PEERJS_PORT: String(port),
      // PeerJS refuses clients past concurrent_limit (default 5000); the bench may need more.
      PEERJS_LIMIT: String(Math.max(5000, clients + 100)),
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const child = watch('peerjs', proc);
  const ready = new Promise<void>((resolve) => proc.once('message', () => resolve()));
  return readyOrFail(child, ready, READY_MS);
}
