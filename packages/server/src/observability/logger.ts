import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The root logger: JSON lines on stdout. Modules take `logger.child({ mod })`. Lines carry
 * `timestamp` (ISO-8601) and an upper-case `level` name, the shape of the chat-protobuf spec's
 * log format (监控和日志), so that call events and every other line parse the same way.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { svc: 'parley' },
    timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label.toUpperCase() }) },
  };
  // Without one, pino's own stdout stream, as before (a test passes its capture).
  return destination ? pino(options, destination) : pino(options);
}
