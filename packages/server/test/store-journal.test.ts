import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildNodes } from './child-nodes.ts';
import { freePort } from './cluster-harness.ts';
import { answeredCall, getJson, privatePostgres, type PrivatePostgres } from './store-fault-kit.ts';
import { of, ok, until } from './harness.ts';

/**
 * A node killed (kill -9) while its PostgreSQL is down: the records it could not write are in
 * its journal, and the next start writes them, so none is lost.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'parley-journal-'));
const journal = join(dataDir, 'pending-writes.jsonl');
let pg: PrivatePostgres;
const nodes = new ChildNodes(dataDir, () => ({ DATABASE_URL: pg.url }));
const { auth } = nodes;
before(async () => {
  pg = await privatePostgres(await freePort());
});
after(async () => {
  await nodes.close();
  await pg?.remove();
  rmSync(dataDir, { recursive: true, force: true });
});
const start = () => nodes.start();
const client = (port: number, userId: string) => nodes.client(port, userId);

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
