import { parleyEnv, startParley, type ServerChild } from '@parley/bench/children';
import { createAuthenticator } from '../src/auth/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { JWT_SECRET, onFreePort } from './cluster-harness.ts';
import { TestClient } from './harness.ts';
import type { RestTarget } from './meeting-kit.ts';

/** A started node: its port and its process. */
export interface ChildNode {
  port: number;
  child: ServerChild;
}

/** Mints the tokens that nodes started on JWT_SECRET take. */
export const nodeAuth = createAuthenticator(loadConfig({ PARLEY_JWT_SECRET: JWT_SECRET }));

/** The REST API of the node at `port`, called with tokens of `nodeAuth`. */
export function nodeApi(port: number): RestTarget {
  return { httpBase: `http://127.0.0.1:${port}`, token: (userId, o) => nodeAuth.mint(userId, o) };
}

/**
 * Parley nodes started as child processes on one data dir (so that a test can kill -9 one
 * and start the next on what it left), and the native clients opened on them.
 */
export class ChildNodes {
  readonly auth = nodeAuth;
  private readonly children: ServerChild[] = [];
  private readonly opened: TestClient[] = [];

  /** `env` adds to the defaults of a node on `dataDir`; it is read at each start. */
  constructor(
    private readonly dataDir: string,
    private readonly env: () => Record<string, string>,
  ) {}

  /** Starts a node on a free port and waits until it serves; `extra` adds to its environment. */
  start(extra: Record<string, string> = {}): Promise<ChildNode> {
    return onFreePort(async (port) => {
      const child = await startParley({
        ...parleyEnv({ port, dataDir: this.dataDir, secret: JWT_SECRET }),
        PARLEY_SFU_WORKERS: '1',
        LOG_LEVEL: process.env.TEST_LOG ?? 'warn',
        ...this.env(),
        ...extra,
      });
      this.children.push(child);
      return { port, child };
    });
  }

  /** A native (`/ws`) client of `userId` on the node at `port`. */
  async client(port: number, userId: string): Promise<TestClient> {
    const token = await this.auth.mint(userId, { name: userId });
    const c = await TestClient.open(`ws://127.0.0.1:${port}/ws?token=${token}&clientType=web`);
    this.opened.push(c);
    return c;
  }

  /** Drops every client opened so far (as a killed node's clients see it). */
  closeClients(): void {
    for (const c of this.opened.splice(0)) c.close();
  }

  /** Closes the clients and stops every node still running. */
  async close(): Promise<void> {
    this.closeClients();
    await Promise.all(this.children.map((c) => c.stop(2000)));
  }
}
