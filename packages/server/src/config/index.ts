export { ConfigSchema, type Config } from './schema.ts';
export { loadConfig, linkHostOf, ConfigError } from './load.ts';
