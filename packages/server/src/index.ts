/**
 * The server's public entry (`@parley/server`): what embeds or drives a Parley server from
 * another package — the app itself, its configuration, token minting, the store — without
 * reaching into src/ by path. `@parley/bench` and the demo's benchmark use it.
 */
export { createApp, type App, type AppOptions } from './app.ts';
export { ConfigError, loadConfig, type Config } from './config/index.ts';
export { createAuthenticator, type Authenticator, type Identity } from './auth/index.ts';
export { openDatabase, type Db } from './store/index.ts';
export { deletePrefix } from './cluster/index.ts';
export type {
  Consumer,
  PlainTransport,
  Producer,
  Router,
  RtpParameters,
  SfuRouter,
} from './sfu/index.ts';
export { NODE_FLAGS } from './cli/node-flags.ts';
