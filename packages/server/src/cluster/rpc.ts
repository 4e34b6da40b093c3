import { randomUUID } from 'node:crypto';
import { AppError, type Command } from '@parley/protocol';
import type {
  Bus,
  BusMessage,
  BusRequest,
  BusRoutes,
  LocalRunner,
  Requests,
  Sender,
} from '../core/index.ts';
import type { Logger } from '../observability/index.ts';

/**
 * Commands forwarded to the node that owns their call, meeting or rooms, and the replies:
 * `command` out, `reply` back with the result or the typed error, matched by `corr`.
 */
export class Rpc implements Requests {
  private readonly pending = new Map<
    string,
    { resolve: (v: unknown) => void; reject: (e: AppError) => void; timer: NodeJS.Timeout }
  >();

  constructor(
    private readonly nodeId: string,
    private readonly bus: Bus,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  /** Runs `command` on `nodeId` for `sender`; resolves with its result or rejects with its error. */
  request(nodeId: string, sender: Sender, command: Command): Promise<unknown> {
    return this.ask(nodeId, (corr, replyTo) => ({
      kind: 'command',
      corr,
      replyTo,
      sender,
      command,
    }));
  }

  /** Sends the request `build` makes (with our correlation id) and waits for its reply. */
  ask(nodeId: string, build: (corr: string, replyTo: string) => BusRequest): Promise<unknown> {
    const corr = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(corr);
        reject(AppError.nodeUnreachable(nodeId));
      }, this.timeoutMs);
      this.pending.set(corr, { resolve, reject, timer });
      this.bus.publish(nodeId, build(corr, this.nodeId));
    });
  }

  /** Takes the replies to this node's requests from its bus. */
  listen(router: BusRoutes): void {
    router.on('reply', (m) => this.settle(m));
  }

  /** Takes a reply to one of our requests. */
  private settle(m: Extract<BusMessage, { kind: 'reply' }>): void {
    const p = this.pending.get(m.corr);
    if (!p) return;
    this.pending.delete(m.corr);
    clearTimeout(p.timer);
    if ('error' in m) p.reject(new AppError(m.error.code, m.error.message, m.error.details));
    else p.resolve(m.result);
  }

  /** Runs a forwarded command here and sends the outcome back. */
  serve(m: Extract<BusMessage, { kind: 'command' }>, run: LocalRunner): void {
    this.answer(m, m.command.type, () => run(m.sender, m.command));
  }

  /** Does the work a request asks for here and sends the outcome back. */
  answer(m: BusRequest, context: string, work: () => unknown): void {
    const reply = (outcome: { result: unknown } | { error: AppError }) =>
      this.bus.publish(
        m.replyTo,
        'error' in outcome
          ? { kind: 'reply', corr: m.corr, error: outcome.error.toBody() }
          : { kind: 'reply', corr: m.corr, result: outcome.result ?? null },
      );
    const fail = (err: unknown) => {
      if (!(err instanceof AppError)) {
        this.log.error({ event: 'handler_failed', err, context }, 'unexpected error');
      }
      reply({ error: err instanceof AppError ? err : AppError.internal() });
    };
    try {
      const result = work();
      if (result instanceof Promise) result.then((r: unknown) => reply({ result: r }), fail);
      else reply({ result });
    } catch (err) {
      fail(err);
    }
  }

  /** Fails every request still waiting (shutdown). */
  close(): void {
    for (const [corr, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(AppError.unavailable());
      this.pending.delete(corr);
    }
  }
}
