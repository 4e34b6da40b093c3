import { pino, type Logger } from 'pino';

export type { Logger };

/** The root logger: JSON lines on stdout. Modules take `logger.child({ mod })`. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { svc: 'parley' }, timestamp: pino.stdTimeFunctions.isoTime });
}
