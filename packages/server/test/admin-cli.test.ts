import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { ok, until, startServer, type Frame, type TestServer } from './harness.ts';
import { answeredCall } from './store-fault-kit.ts';
import { WebhookReceiver } from './webhook-receiver.ts';

/** `npx parley admin …` against a running server, as an operator would type it. */

const BIN = fileURLToPath(new URL('../bin/parley.mjs', import.meta.url));
const run = promisify(execFile);

/** Runs `parley admin <args>` against the server; its stdout. */
async function adminOf(srv: TestServer, args: string[], env: Record<string, string> = {}) {
  const { stdout } = await run(process.execPath, [BIN, 'admin', ...args, '--url', srv.httpBase], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      PARLEY_JWT_SECRET: 'test-secret-test-secret-0123456789',
      ...env,
    },
  });
  return stdout;
}

describe('parley admin (CLI)', () => {
  let srv: TestServer;
  const admin = (args: string[], env: Record<string, string> = {}) => adminOf(srv, args, env);

  before(async () => {
    srv = await startServer();
  });
  after(() => srv.close());

  test('calls, end-call, users, revoke; a token from --token or minted here', async () => {
    const alice = await srv.connect('alice');
    const bob = await srv.connect('bob');
    const invited = await alice.request('call:invite', { callee: 'bob', media: 'audio' });
    const callId = invited.data.callId as string;
    // Answered, so the call outlives the invite's lifetime: each CLI run starts a process, and
    // on a loaded machine the runs below took longer than a minute together.
    await bob.next((f) => f.type === 'call:incoming' && f.data.callId === callId);
    await bob.request('call:accept', { callId });

    const listed = JSON.parse(await admin(['calls', '--json'])) as Frame[];
    assert.deepEqual(
      listed.map((c) => [c.callId, c.caller.userId, c.callee]),
      [[callId, 'alice', 'bob']],
    );
    const token = await srv.token('ops', { grants: ['admin'] });
    assert.equal(
      await admin(['end-call', callId], { PARLEY_ADMIN_TOKEN: token }),
      `ended ${callId}\n`,
    );
    const ended = await alice.next((f) => f.type === 'call:ended' && f.data.callId === callId);
    assert.equal(ended.data.reason, 'admin');
    assert.match(await admin(['users']), /^alice {2}\S+\(web@/m);

    assert.match(
      await admin(['revoke', '--user', 'alice']),
      /^revoked alice's tokens issued before /,
    );
    await assert.rejects(admin(['revoke']), /give one of --jti, --jwt or --user/);
    await assert.rejects(
      admin(['calls', '--token', await srv.token('alice')]),
      /403 the admin API needs a token with the admin grant/,
    );
  });
});

describe('parley admin webhooks (CLI)', () => {
  let srv: TestServer;
  let receiver: WebhookReceiver;
  const admin = (args: string[]) => adminOf(srv, args);

  before(async () => {
    receiver = await WebhookReceiver.start(`whsec_${randomBytes(24).toString('base64')}`);
    srv = await startServer({
      webhooks: {
        endpoints: [
          { name: 'billing', url: receiver.url, secret: receiver.secret, events: ['call.ended'] },
        ],
        retryMinMs: 100,
        retryMaxMs: 400,
        pollMs: 50,
        giveUpAfterMs: 300,
      },
    });
  });
  after(async () => {
    await srv.close();
    await receiver.down();
  });

  test('list, dead, replay: the dead letters of an endpoint, sent again', async () => {
    receiver.refuse = true;
    const calls: string[] = [];
    for (const tag of ['a', 'b']) {
      const caller = await srv.connect(`cli-${tag}1`);
      const callee = await srv.connect(`cli-${tag}2`);
      const callId = await answeredCall(caller, callee, `cli-${tag}2`);
      await ok(caller, 'call:hangup', { callId });
      calls.push(callId);
    }
    const dead = await until('both dead-lettered', async () => {
      const list = JSON.parse(await admin(['webhooks', 'dead', '--json'])) as Frame[];
      return list.length === 2 ? list : undefined;
    });
    assert.deepEqual(
      dead.map((d) => [d.endpoint, d.type, JSON.parse(d.payload as string).data.callId]),
      calls.map((id) => ['billing', 'call.ended', id]),
    );
    const lines = (await admin(['webhooks', 'dead', '--endpoint', 'billing'])).trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(
      lines[0]!,
      new RegExp(`^${dead[0]!.id}  billing  call\\.ended  ${dead[0]!.msgId}  .*HTTP 500$`),
    );
    assert.match(await admin(['webhooks', 'list']), /^billing {2}0 pending$/m);

    // One replayed by id: delivered (with its webhook-id), the other stays dead.
    receiver.refuse = false;
    assert.equal(await admin(['webhooks', 'replay', String(dead[0]!.id)]), 'replayed 1\n');
    await until('the replayed event', () =>
      receiver.deliveries.some((d) => d.headers['webhook-id'] === dead[0]!.msgId)
        ? true
        : undefined,
    );
    const left = JSON.parse(await admin(['webhooks', 'dead', '--json'])) as Frame[];
    assert.deepEqual(
      left.map((d) => d.id),
      [dead[1]!.id],
    );
    // The rest of an endpoint.
    assert.equal(await admin(['webhooks', 'replay', '--endpoint', 'billing']), 'replayed 1\n');
    await until('the other one', () =>
      receiver.deliveries.some((d) => d.headers['webhook-id'] === dead[1]!.msgId)
        ? true
        : undefined,
    );
    await assert.rejects(admin(['webhooks', 'replay', 'x']), /ids are the dead letters' ids/);
    await assert.rejects(admin(['webhooks', 'replay', '--endpoint', 'nope']), /404/);
  });
});
