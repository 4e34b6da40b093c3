import type * as Bench from '@parley/bench';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createApp } from '../app.ts';
import { createAuthenticator } from '../auth/index.ts';
import { devLoginEnabled } from '../http/index.ts';
import { loadConfig, ConfigError } from '../config/index.ts';
import { migrate, openDatabase } from '../store/index.ts';
import { adminCommands } from './admin.ts';
import { guardProcess } from './process-guard.ts';

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
    guardProcess(app.log);
    const addr = await app.listen();
    const base = `http://${addr.address}:${addr.port}`;
    app.log.info({ event: 'listening', url: base, store: app.db.kind }, 'parley is listening');
    process.stdout.write(
      `\nParley is listening on ${base}  (store: ${app.db.kind} ${app.db.where})\n` +
        `Demo:          ${base}/${devLoginEnabled(config) ? '  (sign in as anyone: dev sign-in is on)' : ''}\n` +
        `Get a token:   npx parley token alice --name Alice\n` +
        `Connect:       ws://${addr.address}:${addr.port}/ws?token=<token>&clientType=web\n\n`,
    );
    // Meetings need the SFU; 1:1 calls do not, so a worker that cannot start is loud, not fatal.
    app.sfu
      .start()
      .catch((err: unknown) =>
        app.log.error({ event: 'sfu_unavailable', err }, 'mediasoup workers did not start'),
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

program.addCommand(adminCommands());

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

const count = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

/**
 * The benchmarks live in the `@parley/bench` workspace package, loaded only when a `bench*`
 * command runs, so that the server's production code does not carry them. A server installed
 * on its own has no bench: say where it is instead of a module-resolution stack trace.
 */
async function loadBench(): Promise<typeof Bench> {
  try {
    return await import('@parley/bench');
  } catch (err) {
    const missing =
      (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
      (err as Error).message.includes("'@parley/bench'");
    if (!missing) throw err;
    throw new ConfigError(
      'the bench commands need @parley/bench, a workspace package of the Parley repository: ' +
        'run them from a checkout of it (npm install at its root)',
    );
  }
}

/** A comma-separated list, each item parsed by `item`. */
const list =
  <T>(item: (v: string) => T) =>
  (v: string): T[] =>
    v.split(',').map((x) => item(x.trim()));
const oneOf =
  <T extends string>(...allowed: T[]) =>
  (v: string): T => {
    if (!allowed.includes(v as T)) throw new InvalidArgumentError(`expected ${allowed.join(', ')}`);
    return v as T;
  };
const percent = (v: string): number => {
  const n = Number(v);
  if (!(n > 0 && n <= 100)) throw new InvalidArgumentError('expected percentages in (0, 100]');
  return n / 100;
};

program
  .command('bench')
  .description(
    'benchmark complete calls and signaling relay against the PeerJS server (starts both as child processes)',
  )
  .addOption(new Option('--calls <n>', 'concurrent complete calls').argParser(count).default(500))
  .addOption(
    new Option('--rounds <n>', 'calls each concurrent slot makes in turn')
      .argParser(count)
      .default(5),
  )
  .addOption(
    new Option('--pairs <n>', 'connected pairs in the relay phase (each server)')
      .argParser(count)
      .default(1000),
  )
  .addOption(
    new Option('--trials <n>', 'relay trials per server, alternating').argParser(count).default(3),
  )
  .option(
    '--url <url>',
    'benchmark a running Parley server (needs PARLEY_JWT_SECRET; CPU not measured)',
  )
  .option('--no-peerjs', 'skip the PeerJS comparison')
  .option('--no-pin', 'do not pin the servers and the load generator to separate CPUs')
  .option('--json', 'also print one JSON line with every figure')
  .option('--cpu-prof <dir>', 'write V8 CPU profiles of the server children into <dir>')
  .addOption(
    new Option(
      '--phases <list>',
      'phases to run: calls, relay (saturation), open (open loop), path (own work, no kernel)',
    )
      .argParser(list(oneOf('calls', 'relay', 'open', 'path')))
      .default(['calls', 'relay', 'open', 'path'], 'calls,relay,open,path'),
  )
  .addOption(
    new Option('--loads <list>', 'open loop: offered loads, % of the unbatched capacity (probed)')
      .argParser(list(percent))
      .default([0.25, 0.5, 0.75], '25,50,75'),
  )
  .addOption(
    new Option('--open-pairs <list>', 'open loop: pair counts to run instead of --loads').argParser(
      list(count),
    ),
  )
  .addOption(
    new Option('--open-clients <list>', 'open loop: load generators (lean, ws)')
      .argParser(list(oneOf('lean', 'ws')))
      .default(['lean', 'ws'], 'lean,ws'),
  )
  .addOption(
    new Option('--open-trials <n>', 'open loop: trials per server and load, alternating')
      .argParser(count)
      .default(3),
  )
  .addOption(
    new Option('--open-seconds <n>', 'open loop: measured seconds per trial')
      .argParser(count)
      .default(5),
  )
  .addOption(
    new Option('--ice-rate <n>', 'open loop: ICE messages per second from each side of a pair')
      .argParser(count)
      .default(8),
  )
  .action(
    async (opts: {
      calls: number;
      rounds: number;
      pairs: number;
      trials: number;
      phases: Array<'calls' | 'relay' | 'open' | 'path'>;
      loads: number[];
      openPairs?: number[];
      openClients: Array<'lean' | 'ws'>;
      openTrials: number;
      openSeconds: number;
      iceRate: number;
      url?: string;
      peerjs: boolean;
      pin: boolean;
      json?: boolean;
      cpuProf?: string;
    }) => {
      const { runBench } = await loadBench();
      await runBench({
        calls: opts.calls,
        rounds: opts.rounds,
        pairs: opts.pairs,
        trials: opts.trials,
        peerjs: opts.peerjs,
        pin: opts.pin,
        json: opts.json ?? false,
        phases: opts.phases,
        loads: opts.loads,
        openClients: opts.openClients,
        openTrials: opts.openTrials,
        openSeconds: opts.openSeconds,
        iceRate: opts.iceRate,
        ...(opts.openPairs ? { openPairs: opts.openPairs } : {}),
        ...(opts.url ? { url: opts.url } : {}),
        ...(opts.cpuProf ? { cpuProf: opts.cpuProf } : {}),
      });
      // Everything is closed by now; this only guards against a stray handle keeping us alive.
      setTimeout(() => process.exit(0), 1000).unref();
    },
  );

program
  .command('bench-sfu')
  .description(
    'benchmark meetings on the SFU: join to first remote frame in Chromium, and how many consumers one worker carries',
  )
  .addOption(new Option('--joins <n>', 'joins measured in Chromium').argParser(count).default(20))
  .addOption(new Option('--step <n>', 'consumers added per step').argParser(count).default(100))
  .addOption(
    new Option('--max-consumers <n>', 'stop adding consumers here').argParser(count).default(3000),
  )
  .addOption(
    new Option('--window <seconds>', 'CPU measurement window per step').argParser(count).default(5),
  )
  .addOption(
    new Option('--transport <name>', 'signaling transport')
      .choices(['ws', 'socket.io'])
      .default('ws'),
  )
  .addOption(
    new Option(
      '--sink <kind>',
      "the fan-out's receiver: drop (never reads) or answer (reads, and answers each consumer's transport with transport-cc feedback as a browser does)",
    )
      .choices(['drop', 'answer'])
      .default('drop'),
  )
  .addOption(
    new Option(
      '--srtp <suite>',
      "the fan-out consumers' SRTP crypto suite (by default the one Chromium and mediasoup agree on)",
    )
      .choices(['AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80'])
      .default('AEAD_AES_256_GCM'),
  )
  .option('--chromium <path>', 'the Chromium binary (default /usr/bin/chromium)')
  .option('--json', 'also print one JSON line with every figure')
  .option(
    '--one-node',
    'no second node: the joins measure the same router and another worker only (otherwise a second node in this process, on Redis and PostgreSQL: REDIS_URL, DATABASE_URL, by default the local ones)',
  )
  .addOption(
    new Option(
      '--scaling [runs]',
      'instead of the one-worker table: the largest fan-out on 1 worker, 2 workers and 2 nodes (steps and maximum per worker), measured this many times',
    )
      .argParser(count)
      .preset(3),
  )
  .action(
    async (opts: {
      joins: number;
      step: number;
      maxConsumers: number;
      window: number;
      transport: 'ws' | 'socket.io';
      sink: 'drop' | 'answer';
      srtp: 'AEAD_AES_256_GCM' | 'AEAD_AES_128_GCM' | 'AES_CM_128_HMAC_SHA1_80';
      chromium?: string;
      json?: boolean;
      scaling?: number;
      oneNode?: boolean;
    }) => {
      const { runSfuBench } = await loadBench();
      const config = loadConfig();
      await runSfuBench({
        joins: opts.joins,
        step: opts.step,
        maxConsumers: opts.maxConsumers,
        windowSec: opts.window,
        sink: opts.sink,
        srtp: opts.srtp,
        transport: opts.transport,
        json: opts.json ?? false,
        scalingRuns: opts.scaling ?? 0,
        cluster: opts.oneNode
          ? null
          : {
              ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
              ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
            },
        ...(opts.chromium ? { chromium: opts.chromium } : {}),
      });
      setTimeout(() => process.exit(0), 1000).unref();
    },
  );

program
  .command('bench-conns')
  .description('measure what an idle WebSocket connection costs the server (RSS and heap each)')
  .addOption(new Option('--conns <n>', 'idle connections to hold').argParser(count).default(10_000))
  .option('--json', 'also print one JSON line with every figure')
  .action(async (opts: { conns: number; json?: boolean }) => {
    const { runConnsBench } = await loadBench();
    await runConnsBench({ conns: opts.conns, json: opts.json ?? false });
    setTimeout(() => process.exit(0), 1000).unref();
  });

program
  .command('bench-cluster')
  .description(
    'benchmark the relay across two cluster nodes against both parties on one node (needs Redis and PostgreSQL)',
  )
  .addOption(
    new Option('--pairs <n>', 'connected pairs per placement').argParser(count).default(500),
  )
  .addOption(
    new Option('--trials <n>', 'trials per placement, alternating').argParser(count).default(5),
  )
  .option('--no-links', 'nodes without direct links: every message between them through Redis')
  .option('--json', 'also print one JSON line with every figure')
  .action(async (opts: { pairs: number; trials: number; links: boolean; json?: boolean }) => {
    const { runClusterBench } = await loadBench();
    const config = loadConfig();
    await runClusterBench({
      pairs: opts.pairs,
      trials: opts.trials,
      links: opts.links,
      json: opts.json ?? false,
      ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
      ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    });
    setTimeout(() => process.exit(0), 1000).unref();
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(
    err instanceof ConfigError ? `${err.message}\n` : `${(err as Error).stack ?? String(err)}\n`,
  );
  process.exit(1);
});
