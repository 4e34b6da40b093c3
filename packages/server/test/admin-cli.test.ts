import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startServer, type Frame, type TestServer } from './harness.ts';

/** `npx parley admin …` against a running server, as an operator would type it. */

const BIN = fileURLToPath(new URL('../bin/parley.mjs', import.meta.url));
const run = promisify(execFile);

describe('parley admin (CLI)', () => {
  let srv: TestServer;
  /** Runs `parley admin <args>` against the server; its stdout. */
  const admin = async (args: string[], env: Record<string, string> = {}) => {
    const { stdout } = await run(process.execPath, [BIN, 'admin', ...args, '--url', srv.httpBase], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        PARLEY_JWT_SECRET: 'test-secret-test-secret-0123456789',
        ...env,
      },
    });
    return stdout;
  };

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
