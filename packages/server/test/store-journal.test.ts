import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthenticator } from '../src/auth/index.ts';
import { parleyEnv, startParley, type ServerChild } from '@parley/bench/children';
import { loadConfig } from '../src/config/index.ts';
import { JWT_SECRET, freePort, onFreePort } from './cluster-harness.ts';
import { TestClient } from './harness.ts';
import {
  answeredCall,
  getJson,
  of,
  ok,
  privatePostgres,
  until,
  type PrivatePostgres,
} from './store-fault-kit.ts';

/**
 * A node killed (kill -9) while its PostgreSQL is down: the records it could not write are in
 * its journal, and the next start writes them, so none is lost.
 */
const auth = createAuthenticator(loadConfig({ PARLEY_JWT_SECRET: JWT_SECRET }));
const dataDir = mkdtempSync(join(tmpdir(), 'parley-journal-'));
const journal = join(dataDir, 'pending-writes.jsonl');
const children: ServerChild[] = [];
const opened: TestClient[] = [];
let pg: PrivatePostgres;
before(async () => {
  pg = await privatePostgres(await freePort());
});
after(async () => {
  for (const c of opened) c.close();
  await Promise.all(children.map((c) => c.stop(2000)));
  await pg?.remove();
  rmSync(dataDir, { recursive: true, force: true });
});

const start = () =>
  onFreePort(async (port) => {
    const child = await startParley({
      ...parleyEnv({ port, dataDir, secret: JWT_SECRET }),
      DATABASE_URL: pg.url,
      PARLEY_SFU_WORKERS: '1',
      LOG_LEVEL: process.env.TEST_LOG ?? 'warn',
    });
    children.push(child);
    return { port, child };
  });

async function client(port: number, userId: string): Promise<TestClient> {
  const token = await auth.mint(userId, { name: userId });
  const c = await TestClient.open(`ws://127.0.0.1:${port}/ws?token=${token}&clientType=web`);
  opened.push(c);
  return c;
}

test('kill -9 while PostgreSQL is down: the journal is replayed at the next start', async () => {
  const first = await start();
  const alice = await client(first.port, 'j-alice');
  const bob = await client(first.port, 'j-bob');
  await pg.stop();
  const calls: string[] = [];
  for (let i = 0; i < 3; i++) {
    const callId = await answeredCall(alice, bob, 'j-bob');
    await ok(alice, 'call:hangup', { callId });
    await bob.next(of('call:ended', callId), 2000);
    calls.push(callId);
  }
  // Every write of those calls is on disk before the node dies.
  await until('the journal holds every call', () => {
    const lines = existsSync(journal) ? readFileSync(journal, 'utf8').split('\n') : [];
    const ended = (id: string) =>
      lines.some((l) => l.includes(`"${id}"`) && l.includes('"hangup"'));
    return calls.every(ended) ? true : undefined;
  });
  process.kill(first.child.pid, 'SIGKILL');
  await first.child.stop(0);

  await pg.start();
  const second = await start();
  const token = await auth.mint('j-alice', { name: 'j-alice' });
  for (const callId of calls) {
    const h = await getJson(`http://127.0.0.1:${second.port}/api/calls/${callId}`, token);
    assert.equal(h.status, 200, `history has ${callId}`);
    assert.equal(h.body.data.reason, 'hangup');
    assert.equal(h.body.data.status, 'completed');
  }
  assert.equal(existsSync(journal), false, 'the journal has served');
});
