import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { ChildNodes, nodeApi } from './child-nodes.ts';
import { of, ok, until, type Frame } from './harness.ts';
import { createMeeting, joinMeeting } from './meeting-kit.ts';
import { answeredCall, getJson } from './store-fault-kit.ts';

/**
 * kill -9 of a single node mid-call, then a restart on the same data dir: the calls it had
 * and the meeting stays it served are ended (`node_restart`) at its last sign of life, and
 * history has them.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'parley-restart-'));
const nodes = new ChildNodes(dataDir, () => ({ PARLEY_STORE_LAST_SEEN_MS: '200' }));
const { auth } = nodes;
after(async () => {
  await nodes.close();
  rmSync(dataDir, { recursive: true, force: true });
});
const start = () => nodes.start();
const client = (port: number, userId: string) => nodes.client(port, userId);

/** Reads the node's SQLite file from this process (as an operator's sqlite3 would). */
function query<T>(sqlText: string, ...params: unknown[]): T[] {
  const db = new SQLite(join(dataDir, 'parley.sqlite'), { readonly: true });
  try {
    return db.prepare(sqlText).all(...params) as T[];
  } finally {
    db.close();
  }
}

test('kill -9 mid-call, restart: calls and stays end node_restart at the last sign of life', async () => {
  const first = await start();
  const alice = await client(first.port, 'r-alice');
  const bob = await client(first.port, 'r-bob');
  const carol = await client(first.port, 'r-carol');
  const live = await answeredCall(alice, bob, 'r-bob');
  const { callId: ringing } = (
    await ok(alice, 'call:invite', { callee: 'r-carol', media: 'video' })
  ).data as { callId: string };
  await carol.next(of('call:incoming', ringing));
  const meetingId = await createMeeting(nodeApi(first.port), 'r-alice');
  await joinMeeting(nodeApi(first.port), meetingId, 'r-alice');

  // The answered call's row is written, and the node was seen alive after that.
  const answeredAt = await until('the answered row', () => {
    const [row] = query<{ start_time: string | null }>(
      'select start_time from call_records where call_id = ?',
      live,
    );
    return row?.start_time ? Date.parse(row.start_time) : undefined;
  });
  const before = Date.now();
  await until('a sign of life after the answer', () => {
    const [row] = query<{ seen_at: string }>('select seen_at from node_last_seen');
    return row && Date.parse(row.seen_at) >= before ? true : undefined;
  });
  const killedAt = Date.now();
  process.kill(first.child.pid, 'SIGKILL');
  await first.child.stop(0);
  nodes.closeClients();

  const second = await start();
  const token = await auth.mint('r-alice', { name: 'r-alice' });
  const h = await getJson(`http://127.0.0.1:${second.port}/api/calls/${live}`, token);
  assert.equal(h.status, 200, JSON.stringify(h.body));
  const rec = h.body.data as Frame;
  assert.equal(rec.reason, 'node_restart');
  assert.equal(rec.status, 'completed');
  const endedAt = Date.parse(rec.endedAt as string);
  assert.ok(endedAt >= before && endedAt <= killedAt, `ended at the last sign of life`);
  assert.equal(Date.parse(rec.startedAt as string), answeredAt);

  const r = await getJson(`http://127.0.0.1:${second.port}/api/calls/${ringing}`, token);
  assert.equal(r.status, 200);
  assert.equal(r.body.data.reason, 'node_restart');
  assert.equal(r.body.data.status, 'failed');
  assert.equal(r.body.data.startedAt, null);

  const stays = query<{ left_at: string | null }>(
    'select left_at from meeting_participants where meeting_id = ?',
    meetingId,
  );
  assert.equal(stays.length, 1);
  const leftAt = Date.parse(stays[0]!.left_at ?? '');
  assert.ok(leftAt >= before && leftAt <= killedAt, 'the stay ended at the last sign of life');

  // The restarted node serves: a new call is recorded as usual.
  const dave = await client(second.port, 'r-dave');
  const erin = await client(second.port, 'r-erin');
  const next = await answeredCall(dave, erin, 'r-erin');
  await ok(dave, 'call:hangup', { callId: next });
  assert.equal((await erin.next(of('call:record', next))).data.record.reason, 'hangup');
});
