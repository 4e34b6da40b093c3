export { createLogger, type Logger } from './logger.ts';
export { Metrics } from './metrics.ts';
export { clientInfo, trustedProxies, type ClientInfo } from './client-address.ts';
