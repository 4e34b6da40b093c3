import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthenticator } from '../../src/auth/index.ts';
import { freePort, parleyEnv, startParley, type ServerChild } from '@parley/bench/children';
import { loadConfig } from '../../src/config/index.ts';

/** The HS256 secret the fault runs' servers and clients share. */
const SECRET = 'fault-run-secret-0123456789abcdef';
const auth = createAuthenticator(loadConfig({ PARLEY_JWT_SECRET: SECRET }));
const tokens = new Map<string, Promise<string>>();

/** A token for `userId` (minted once per run; default lifetime). */
export function token(userId: string): Promise<string> {
  let t = tokens.get(userId);
  if (!t) tokens.set(userId, (t = auth.mint(userId, { name: userId })));
  return t;
}

/**
 * A Parley server process as an operator runs it (`parley start`, default limits), on a fixed
 * port and data directory so that it can be killed and started again in place.
 */
export class ParleyNode {
  child: ServerChild | null = null;
  private constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly ownsDataDir: boolean,
  ) {}

  /** A node on a free port; `dataDir` defaults to a fresh temp directory. */
  static async create(extraEnv: NodeJS.ProcessEnv = {}, dataDir?: string): Promise<ParleyNode> {
    const port = await freePort();
    const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'parley-fault-'));
    const env = { ...parleyEnv({ port, dataDir: dir, secret: SECRET }), ...extraEnv };
    return new ParleyNode(port, dir, env, dataDir === undefined);
  }

  get ws(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get http(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = await startParley(this.env);
  }

  /** SIGKILL: no shutdown, no flush, exactly a crash. */
  async kill(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c) return;
    process.kill(c.pid, 'SIGKILL');
    await c.stop(0);
  }

  /** SIGTERM; resolves with the ms until the process exited. */
  async terminate(graceMs = 30_000): Promise<number> {
    const c = this.child;
    this.child = null;
    if (!c) return 0;
    const t0 = performance.now();
    await c.stop(graceMs);
    return performance.now() - t0;
  }

  /** Stops it (if running) and removes the data directory it made. */
  async remove(): Promise<void> {
    await this.terminate(5000);
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** The last lines it printed (for a failure's message). */
  tail(): string {
    return this.child?.tail() ?? '';
  }
}
