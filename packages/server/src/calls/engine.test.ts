import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceRef, ServerEvent } from '@parley/protocol';
import { loadConfig } from '../config/index.ts';
import type { Delivery, Sender, Timer, Timers } from '../core/index.ts';
import { createLogger, Metrics } from '../observability/index.ts';
import { MemoryDirectory } from '../presence/index.ts';
import { SignalRelay } from '../relay/index.ts';
import { CallRecordStore, migrate, openDatabase } from '../store/index.ts';
import { CallEngine } from './engine.ts';

/** Timers that fire only when the test moves time on, in the order they are due. */
class ManualTimers implements Timers {
  now = 0;
  private readonly pending = new Map<Timer, { at: number; fn: () => void }>();

  setTimeout(fn: () => void, ms: number): Timer {
    const timer: Timer = { unref: () => timer };
    this.pending.set(timer, { at: this.now + ms, fn });
    return timer;
  }

  clearTimeout(timer: Timer | undefined): void {
    if (timer) this.pending.delete(timer);
  }

  advance(ms: number): void {
    this.now += ms;
    const due = [...this.pending].filter(([, p]) => p.at <= this.now);
    for (const [timer, p] of due.sort(([, a], [, b]) => a.at - b.at)) {
      this.pending.delete(timer);
      p.fn();
    }
  }
}

const dir = mkdtempSync(join(tmpdir(), 'parley-engine-'));
const db = openDatabase({ dataDir: dir });
after(async () => {
  await db.kysely.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test('a call nobody answers ends no_answer when its ring timer fires, with no wait', async () => {
  await migrate(db);
  const config = loadConfig({});
  const timers = new ManualTimers();
  const sent: Array<{ to: string; event: ServerEvent }> = [];
  const delivery: Delivery = {
    toDevice: (to: DeviceRef, event: ServerEvent) => void sent.push({ to: to.deviceId, event }),
    toUser: (userId: string, event: ServerEvent) => {
      sent.push({ to: userId, event });
      return Promise.resolve();
    },
  };
  const directory = new MemoryDirectory();
  await directory.add({
    userId: 'bob',
    deviceId: 'b1',
    clientType: 'web',
    name: 'Bob',
    nodeId: 'n1',
    since: 0,
  });
  const metrics = new Metrics();
  const log = createLogger('silent');
  const engine = new CallEngine({
    nodeId: 'n1',
    calls: config.calls,
    caps: config.caps,
    records: new CallRecordStore(db),
    directory,
    delivery,
    metrics,
    relay: new SignalRelay({
      iceBufferMs: config.calls.iceBufferMs,
      ringTtlMs: config.calls.inviteTtlMs,
      metrics,
      log,
      clock: () => timers.now,
    }),
    log,
    clock: () => timers.now,
    timers,
  });
  const alice: Sender = {
    userId: 'alice',
    deviceId: 'a1',
    clientType: 'web',
    name: 'Alice',
    grants: [],
  };

  const { callId } = await engine.invite(alice, {
    type: 'call:invite',
    callee: 'bob',
    media: 'audio',
    keepCalling: false,
  });
  assert.equal(engine.size, 1);
  timers.advance(config.calls.inviteTtlMs - 1);
  assert.equal(engine.size, 1, 'still ringing a millisecond before its lifetime');
  timers.advance(1);
  assert.equal(engine.size, 0, 'ended when the ring timer fired');
  await engine.shutdown(); // waits for the end's record and announcements

  const ended = sent.filter((s) => s.event.type === 'call:ended');
  assert.deepEqual(
    ended.map((s) => [s.to, s.event.type === 'call:ended' && s.event.reason]),
    [
      ['a1', 'no_answer'],
      ['b1', 'no_answer'],
    ],
  );
  const records = sent.filter((s) => s.event.type === 'call:record');
  assert.deepEqual(
    records.map((s) => s.to),
    ['alice', 'bob'],
  );
  const record = records[0]!.event;
  assert.ok(record.type === 'call:record');
  assert.equal(record.record.callId, callId);
  assert.equal(record.record.status, 'missed');
  assert.equal(
    record.record.ringMs,
    config.calls.inviteTtlMs,
    'rang for the lifetime, on the clock',
  );
});
