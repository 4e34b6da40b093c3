import { Command, Option } from 'commander';
import { createAuthenticator } from '../auth/index.ts';
import { loadConfig, ConfigError } from '../config/index.ts';
import type { DeadLetter, OutboxDepth } from '../core/index.ts';
import { ADMIN_GRANT } from '../http/index.ts';

/** What every `parley admin` command takes. */
interface Common {
  url?: string;
  token?: string;
  json?: boolean;
}

/** A token minted here lives this long: one command's worth. */
const MINTED_TTL_SEC = 120;

/**
 * The server and token a command talks to: `--url` (default: this host's configured port) and
 * `--token`; without one, an admin token minted with the configured secret (on the server's
 * host, as `parley token --grant admin` would).
 */
async function target(o: Common): Promise<{ url: string; token: string }> {
  const config = loadConfig();
  const url = (o.url ?? `http://127.0.0.1:${config.server.port}`).replace(/\/$/, '');
  if (o.token) return { url, token: o.token };
  if (config.auth.jwksUrl) {
    throw new ConfigError('the server verifies tokens of an identity provider: pass --token');
  }
  const auth = createAuthenticator(config);
  return {
    url,
    token: await auth.mint('parley-cli', { grants: [ADMIN_GRANT], ttlSec: MINTED_TTL_SEC }),
  };
}

/** Calls the admin API; the `data` of its answer, or a ConfigError with the server's message. */
async function request(o: Common, method: string, path: string, body?: unknown): Promise<unknown> {
  const { url, token } = await target(o);
  let res: Response;
  try {
    res = await fetch(`${url}/api/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new ConfigError(`cannot reach ${url}: ${(err as Error).message}`);
  }
  const answer = (await res.json().catch(() => null)) as {
    code?: number;
    message?: string;
    data?: unknown;
  } | null;
  if (!res.ok || answer?.code !== 0) {
    throw new ConfigError(`${method} ${path}: ${res.status} ${answer?.message ?? res.statusText}`);
  }
  return answer.data;
}

/** Every page of a list, following `next`. */
async function all<T>(o: Common, path: string, key: string): Promise<T[]> {
  const items: T[] = [];
  for (let cursor: string | null = null; ;) {
    const q: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const page = (await request(o, 'GET', `${path}?limit=200${q}`)) as Record<string, unknown>;
    items.push(...(page[key] as T[]));
    cursor = page.next as string | null;
    if (cursor === null) return items;
  }
}

/** Prints the answer: JSON with `--json`, else one line per item made by `line`. */
function print<T>(o: Common, data: T[] | T, line: (t: T) => string): void {
  if (o.json) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  for (const t of Array.isArray(data) ? data : [data]) process.stdout.write(`${line(t)}\n`);
}

type LiveCall = {
  callId: string;
  phase: string;
  media: string;
  caller: { userId: string };
  callee: string;
  createdAt: string;
  node: string;
};
type Meeting = { meetingId: string; hostId: string; title: string | null; participants: unknown[] };
type Depth = OutboxDepth & { endpoint: string };
type User = {
  userId: string;
  devices: Array<{ deviceId: string; clientType: string; node: string }>;
};

/** `parley admin …`: the common admin API calls from a shell. */
export function adminCommands(): Command {
  const admin = new Command('admin').description(
    'call the admin API of a running server (see README: Admin API)',
  );
  // Options of every subcommand, so that they may come after its arguments.
  const sub = (name: string, parent: Command = admin) =>
    parent
      .command(name)
      .addOption(
        new Option('--url <url>', 'the server (default: http://127.0.0.1:<PORT>)').env(
          'PARLEY_URL',
        ),
      )
      .addOption(
        new Option('--token <jwt>', 'a token with the admin grant (default: minted here)').env(
          'PARLEY_ADMIN_TOKEN',
        ),
      )
      .option('--json', 'print the API answer as JSON');

  sub('calls')
    .description('list the live calls of every node')
    .action(async (o: Common) =>
      print(o, await all<LiveCall>(o, '/calls', 'calls'), (c) =>
        [c.callId, c.phase, c.media, `${c.caller.userId} -> ${c.callee}`, c.createdAt, c.node].join(
          '  ',
        ),
      ),
    );
  sub('end-call')
    .description('end a live call (reason admin)')
    .argument('<callId>')
    .action(async (callId: string, o: Common) =>
      print(
        o,
        await request(o, 'POST', `/calls/${encodeURIComponent(callId)}/end`),
        () => `ended ${callId}`,
      ),
    );
  sub('meetings')
    .description('list the active meetings')
    .action(async (o: Common) =>
      print(o, await all<Meeting>(o, '/meetings', 'meetings'), (m) =>
        [m.meetingId, m.hostId, `${m.participants.length} in`, m.title ?? ''].join('  '),
      ),
    );
  sub('end-meeting')
    .description('end a meeting')
    .argument('<meetingId>')
    .action(async (meetingId: string, o: Common) =>
      print(
        o,
        await request(o, 'POST', `/meetings/${encodeURIComponent(meetingId)}/end`),
        () => `ended ${meetingId}`,
      ),
    );
  sub('users')
    .description('list the online users and their devices')
    .action(async (o: Common) =>
      print(o, await all<User>(o, '/users', 'users'), (u) =>
        [u.userId, ...u.devices.map((d) => `${d.deviceId}(${d.clientType}@${d.node})`)].join('  '),
      ),
    );
  sub('disconnect')
    .description('disconnect one device of a user')
    .argument('<userId>')
    .argument('<deviceId>')
    .action(async (userId: string, deviceId: string, o: Common) =>
      print(
        o,
        await request(
          o,
          'POST',
          `/users/${encodeURIComponent(userId)}/devices/${encodeURIComponent(deviceId)}/disconnect`,
        ),
        () => `disconnected ${deviceId}`,
      ),
    );
  sub('revoke')
    .description('revoke a token (--jti or --jwt) or every token of a user (--user)')
    .option('--jti <id>', 'the id of the token to revoke')
    .option('--jwt <token>', 'the token itself (its jti and exp are read from it)')
    .option('--user <userId>', "revoke the user's tokens issued before --before")
    .option('--before <iso>', 'with --user: the cut-off (default: now)')
    .option('--expires <iso>', 'with --jti: when the token expires (default: in 30 days)')
    .action(
      async (
        o: Common & {
          jti?: string;
          jwt?: string;
          user?: string;
          before?: string;
          expires?: string;
        },
      ) => {
        const chosen = [o.jti, o.jwt, o.user].filter((x) => x !== undefined).length;
        if (chosen !== 1) throw new ConfigError('revoke: give one of --jti, --jwt or --user');
        const body = o.jwt
          ? { token: o.jwt }
          : o.jti
            ? { jti: o.jti, ...(o.expires ? { expiresAt: o.expires } : {}) }
            : { userId: o.user, ...(o.before ? { before: o.before } : {}) };
        print(o, await request(o, 'POST', '/revocations', body), (r) => {
          const x = r as { kind: string; jti?: string; userId?: string; before?: string };
          return x.kind === 'jti'
            ? `revoked token ${x.jti}`
            : `revoked ${x.userId}'s tokens issued before ${x.before}`;
        });
      },
    );
  const webhooks = admin
    .command('webhooks')
    .description('webhook endpoints and their dead letters (see README: Webhooks)');
  const hook = (name: string) => sub(name, webhooks);
  hook('list')
    .description('each webhook endpoint, its pending events and the oldest one')
    .action(async (o: Common) => {
      const { endpoints } = (await request(o, 'GET', '/webhooks')) as { endpoints: Depth[] };
      print(o, endpoints, (e) =>
        [
          e.endpoint,
          `${e.pending} pending`,
          ...(e.oldest === null ? [] : [`oldest ${new Date(e.oldest).toISOString()}`]),
        ].join('  '),
      );
    });
  hook('dead')
    .description('the dead letters, oldest first')
    .option('--endpoint <name>', 'of one endpoint')
    .action(async (o: Common & { endpoint?: string }) => {
      const letters: DeadLetter[] = [];
      const q = o.endpoint ? `&endpoint=${encodeURIComponent(o.endpoint)}` : '';
      for (let after: string | null = null; ;) {
        const a: string = after === null ? '' : `&after=${after}`;
        const page = (await request(o, 'GET', `/webhooks/dead?limit=1000${q}${a}`)) as {
          deadLetters: DeadLetter[];
          next: string | null;
        };
        letters.push(...page.deadLetters);
        if ((after = page.next) === null) break;
      }
      print(o, letters, (d) =>
        [
          d.id,
          d.endpoint,
          d.type,
          d.msgId,
          d.createdAt,
          `${d.attempts} attempts`,
          d.lastError ?? '',
        ].join('  '),
      );
    });
  hook('replay')
    .description('send dead letters again: the given ids, or all (of --endpoint, or of every one)')
    .argument('[ids...]', 'dead letter ids (default: all)')
    .option('--endpoint <name>', 'of one endpoint')
    .action(async (ids: string[], o: Common & { endpoint?: string }) => {
      const numbers = ids.map(Number);
      if (numbers.some((n) => !Number.isSafeInteger(n) || n < 1))
        throw new ConfigError("replay: ids are the dead letters' ids (positive integers)");
      const body = {
        ...(o.endpoint ? { endpoint: o.endpoint } : {}),
        ...(numbers.length > 0 ? { ids: numbers } : {}),
      };
      print(
        o,
        (await request(o, 'POST', '/webhooks/dead/replay', body)) as { replayed: number },
        (r) => `replayed ${r.replayed}`,
      );
    });
  return admin;
}
