import type { RevocationList } from '../auth/index.ts';
import type { Bus, Revocation } from '../core/index.ts';
import { CloseCode, type Hub } from '../gateway/index.ts';
import type { Logger } from '../observability/index.ts';

/** Where revocations are kept for restarts (the store's `token_revocations`). */
export interface RevocationRecords {
  add(r: Revocation): Promise<void>;
  all(): Promise<Revocation[]>;
}

/** What the revoker needs. */
export interface RevokerOptions {
  nodeId: string;
  /** Revocations reach every node over it (Redis pub/sub in a cluster). */
  bus: Bus;
  records: RevocationRecords;
  /** The list the authenticator checks every token against. */
  list: RevocationList;
  hub: Pick<Hub, 'kickWhere'>;
  /**
   * How often the whole list is read again from the store: what a node missed of the bus
   * (Redis was away) takes effect then at the latest.
   */
  refreshMs: number;
  log: Logger;
}

/**
 * Revokes tokens: stores the revocation, then every node (this one at once, the others over
 * the bus) adds it to its list, so that no request or connect accepts the token again, and
 * closes the sockets opened with it (WebSocket close 4011; socket.io `session:closed`).
 */
export class Revoker {
  private timer: NodeJS.Timeout | null = null;
  private stop: (() => void) | null = null;
  private readonly log: Logger;

  constructor(private readonly o: RevokerOptions) {
    this.log = o.log.child({ mod: 'revocations' });
  }

  /** Loads the revocations in force and follows new ones. */
  async start(): Promise<void> {
    this.stop = this.o.bus.subscribe(this.o.nodeId, (m) => {
      if (m.kind === 'revoked') this.apply([m.revocation]);
    });
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) =>
        this.log.warn({ event: 'revocations_refresh_failed', err }, 'kept the list as it was'),
      );
    }, this.o.refreshMs);
    this.timer.unref();
  }

  /** Stores a revocation and makes it take effect on every node. */
  async revoke(r: Revocation): Promise<{ closed: number }> {
    await this.o.records.add(r);
    const closed = this.apply([r]);
    this.o.bus.broadcast({ kind: 'revoked', revocation: r });
    this.log.info({ event: 'tokens_revoked', revocation: r, closed }, 'tokens revoked');
    return { closed };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.stop?.();
  }

  private async refresh(): Promise<void> {
    this.o.list.prune();
    this.apply(await this.o.records.all());
  }

  /** Adds revocations to the list and closes this node's sockets they revoke. */
  private apply(rs: readonly Revocation[]): number {
    const { list } = this.o;
    for (const r of rs) list.add(r);
    return this.o.hub.kickWhere(
      (c) => c.credentials.some((t) => list.revoked(t)),
      CloseCode.TokenRevoked,
      'token revoked',
    );
  }
}
