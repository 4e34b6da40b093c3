export { ConfigSchema, type Config } from './schema.ts';
export { loadConfig, ConfigError } from './load.ts';
