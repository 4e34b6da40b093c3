import { Command, Option } from 'commander';
import { createApp } from '../app.ts';
import { createAuthenticator } from '../auth/index.ts';
import { loadConfig, ConfigError } from '../config/index.ts';
import { migrate, openDatabase } from '../store/index.ts';

const program = new Command()
  .name('parley')
  .description('Parley: self-hosted audio/video calling server')
  .showHelpAfterError();

program
  .command('start', { isDefault: true })
  .description('run the server (configuration from the environment, see README)')
  .action(async () => {
    const config = loadConfig();
    const app = await createApp(config);
    const addr = await app.listen();
    const base = `http://${addr.address}:${addr.port}`;
    app.log.info({ event: 'listening', url: base, store: app.db.kind }, 'parley is listening');
    process.stdout.write(
      `\nParley is listening on ${base}  (store: ${app.db.kind} ${app.db.where})\n` +
        `Get a token:   npx parley token alice --name Alice\n` +
        `Connect:       ws://${addr.address}:${addr.port}/ws?token=<token>&clientType=web\n\n`,
    );
    const stop = (signal: string) => {
      app.log.info({ event: 'signal', signal }, 'stopping');
      const force = setTimeout(() => process.exit(1), config.server.shutdownTimeoutMs);
      force.unref();
      app.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });

program
  .command('token')
  .description('mint a JWT with the configured secret')
  .argument('<userId>', 'the user id (sub claim)')
  .option('--name <nickname>', 'the nickname (name claim)')
  .addOption(new Option('--ttl <seconds>', 'lifetime in seconds').argParser(Number))
  .option('--grant <grant...>', 'grants to include (e.g. voice)')
  .action(async (userId: string, opts: { name?: string; ttl?: number; grant?: string[] }) => {
    const auth = createAuthenticator(loadConfig());
    const token = await auth.mint(userId, {
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.ttl ? { ttlSec: opts.ttl } : {}),
      ...(opts.grant ? { grants: opts.grant } : {}),
    });
    process.stdout.write(`${token}\n`);
  });

program
  .command('migrate')
  .description('bring the database schema up to date')
  .action(async () => {
    const db = openDatabase(loadConfig());
    const applied = await migrate(db);
    process.stdout.write(
      applied.length ? `applied: ${applied.join(', ')}\n` : `${db.kind} schema is up to date\n`,
    );
    await db.kysely.destroy();
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(
    err instanceof ConfigError ? `${err.message}\n` : `${(err as Error).stack ?? String(err)}\n`,
  );
  process.exit(1);
});
