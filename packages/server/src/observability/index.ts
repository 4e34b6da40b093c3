export { createLogger, type Logger } from './logger.ts';
export { Metrics } from './metrics.ts';
export { clientInfo, trustedProxies } from './client-address.ts';
