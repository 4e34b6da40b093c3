import type { Logger } from '../observability/index.ts';

/**
 * Keeps the server up when a promise rejects with nobody listening: Node's default is to exit,
 * which would drop every call on the node for one stray bug. The rejection is logged as an
 * error instead (commands have their own guard that answers the request; this is the net under
 * everything else).
 */
export function guardProcess(log: Logger): void {
  process.on('unhandledRejection', (reason: unknown) => {
    log.error({ event: 'unhandled_rejection', err: reason }, 'unhandled promise rejection');
  });
}
