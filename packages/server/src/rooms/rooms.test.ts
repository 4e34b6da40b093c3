import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import {
  AppError,
  ErrorCode,
  type ChatPayload,
  type DeviceRef,
  type RoomSignalCommand,
  type ServerEvent,
} from '@parley/protocol';
import type { Sender } from '../core/index.ts';
import { loadConfig, type Config } from '../config/index.ts';
import { MemoryDirectory } from '../presence/index.ts';
import { RoomManager } from './rooms.ts';

/** The room manager alone: no sockets, a recorded delivery, an in-process directory. */

const log = pino({ level: 'silent' });
const config = loadConfig({ PARLEY_JWT_SECRET: 'test-secret-test-secret-0123456789' });

const sender = (userId: string, deviceId: string, grants: string[] = []): Sender => ({
  userId,
  deviceId,
  clientType: 'web',
  name: userId.toUpperCase(),
  grants,
});

function rooms(o: { rooms?: Partial<Config['rooms']>; now?: () => number } = {}) {
  const got = new Map<string, ServerEvent[]>();
  const directory = new MemoryDirectory();
  const manager = new RoomManager({
    rooms: { ...config.rooms, ...o.rooms },
    delivery: {
      toDevice: (to: DeviceRef, e: ServerEvent) => {
        got.set(to.deviceId, [...(got.get(to.deviceId) ?? []), e]);
      },
      toUser: () => Promise.resolve(),
    },
    directory,
    log,
    ...(o.now ? { clock: o.now } : {}),
  });
  /** The device is connected (the directory knows it). */
  const online = (...ss: Sender[]) =>
    Promise.all(ss.map((s) => directory.add({ ...s, nodeId: 'n1', since: 0 })));
  /** What each device got since last asked. */
  const take = (deviceId: string) => {
    const events = got.get(deviceId) ?? [];
    got.delete(deviceId);
    return events;
  };
  return { manager, online, take };
}

const signal = (kind: RoomSignalCommand['kind'], to: string, requestId?: string) =>
  ({
    type: 'room:signal',
    kind,
    to,
    payload: { kind },
    ...(requestId ? { requestId } : {}),
  }) as RoomSignalCommand;

const code = (c: string) => (err: unknown) => err instanceof AppError && err.code === c;

test('membership is per device; the others hear a user join once and leave once', () => {
  const { manager, take } = rooms();
  const [ann, ann2, ben] = [sender('ann', 'a1'), sender('ann', 'a2'), sender('ben', 'b1')];
  assert.deepEqual(manager.join(ann, 'r'), {
    roomId: 'r',
    members: [{ userId: 'ann', name: 'ANN' }],
  });
  manager.join(ben, 'r');
  assert.deepEqual(take('a1'), [
    { type: 'room:member_joined', roomId: 'r', userId: 'ben', name: 'BEN' },
  ]);
  manager.join(ann2, 'r'); // ann is a member already: nobody hears of it
  assert.deepEqual(take('b1'), []);
  assert.deepEqual(
    manager.members(ben, 'r').members.map((m) => m.userId),
    ['ann', 'ben'],
  );

  manager.leave(ann, 'r'); // ann's other device keeps her in
  assert.deepEqual(take('b1'), []);
  assert.throws(() => manager.leave(ann, 'r'), code(ErrorCode.NotInRoom), 'left already');
  manager.deviceGone(ann2);
  assert.deepEqual(take('b1'), [
    { type: 'room:member_left', roomId: 'r', userId: 'ann', name: 'ANN' },
  ]);
  assert.throws(() => manager.members(ann, 'r'), code(ErrorCode.NotInRoom));
  manager.close();
});

test('with access "grant" a token joins only the rooms it grants', () => {
  const { manager } = rooms({ rooms: { access: 'grant' } });
  assert.throws(() => manager.join(sender('ann', 'a1'), 'r1'), code(ErrorCode.Forbidden));
  assert.equal(manager.join(sender('ann', 'a1', ['room:r*']), 'r1').roomId, 'r1');
  assert.throws(
    () => manager.join(sender('ann', 'a1', ['room:r*']), 'x'),
    code(ErrorCode.Forbidden),
  );
  manager.close();
});

test("signals follow ROOM's checks, and reach the target's devices in the rooms they share", async () => {
  const { manager, online, take } = rooms({ rooms: { voiceGrant: 'voice' } });
  const ann = sender('ann', 'a1', ['voice']);
  const ben = sender('ben', 'b1');
  const ben2 = sender('ben', 'b2');
  const cat = sender('cat', 'c1', ['voice']);
  await online(ann, ben, ben2, cat);
  manager.join(ann, 'r');
  manager.join(ben, 'r');
  manager.join(ben2, 'other'); // not in a room ann is in
  manager.join(cat, 'elsewhere');
  take('a1');

  await assert.rejects(manager.signal(ann, signal('offer', 'ann')), code(ErrorCode.BadRequest));
  await assert.rejects(manager.signal(ann, signal('offer', 'dan')), code(ErrorCode.TargetOffline));
  await assert.rejects(manager.signal(cat, signal('offer', 'ann')), code(ErrorCode.NotInRoom));
  await assert.rejects(manager.signal(ben, signal('offer', 'ann')), code(ErrorCode.Forbidden));
  // No offer ann → ben yet: neither an answer nor ICE has anything to belong to.
  await assert.rejects(manager.signal(ben, signal('answer', 'ann')), code(ErrorCode.NoConnection));
  await assert.rejects(manager.signal(ann, signal('ice', 'ben')), code(ErrorCode.NoConnection));

  await manager.signal(ann, signal('offer', 'ben', 'q1'));
  assert.deepEqual(take('b1'), [
    {
      type: 'room:signal',
      kind: 'offer',
      from: 'ann',
      to: 'ben',
      payload: { kind: 'offer' },
      requestId: 'q1',
    },
  ]);
  assert.deepEqual(take('b2'), [], "ben's device in another room hears nothing");
  await manager.signal(ben, signal('answer', 'ann'));
  await manager.signal(ben, signal('ice', 'ann'));
  await manager.signal(ann, signal('ice', 'ben'));
  assert.deepEqual(
    take('a1').map((e) => (e.type === 'room:signal' ? e.kind : e.type)),
    ['answer', 'ice'],
  );
  assert.equal(take('b1').length, 1);

  // Once they share no room, the pair is forgotten.
  manager.leave(ben, 'r');
  manager.join(ben, 'r');
  await assert.rejects(manager.signal(ben, signal('answer', 'ann')), code(ErrorCode.NoConnection));
  manager.close();
});

test('an idle pair is forgotten after pairTimeoutMs; traffic keeps it', async () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    let now = 0;
    const { manager, online } = rooms({ rooms: { pairTimeoutMs: 1_000 }, now: () => now });
    const [ann, ben, cat] = [sender('ann', 'a1'), sender('ben', 'b1'), sender('cat', 'c1')];
    await online(ann, ben, cat);
    for (const s of [ann, ben, cat]) manager.join(s, 'r');
    await manager.signal(ann, signal('offer', 'ben'));
    await manager.signal(ann, signal('offer', 'cat'));
    for (let t = 400; t <= 1_600; t += 400) {
      now = t;
      await manager.signal(ann, signal('ice', 'ben')); // busy
      mock.timers.tick(400); // the sweeper's turn
    }
    await manager.signal(ben, signal('answer', 'ann'));
    await assert.rejects(
      manager.signal(cat, signal('answer', 'ann')),
      code(ErrorCode.NoConnection),
    );
    now += 1_001;
    mock.timers.tick(1_000);
    await assert.rejects(manager.signal(ann, signal('ice', 'ben')), code(ErrorCode.NoConnection));
    manager.close();
  } finally {
    mock.timers.reset();
  }
});

test("group chat goes to the room's devices but the sender's; single chat to the user and the sender's others", async () => {
  const { manager, online, take } = rooms({ now: () => 42 });
  const [ann, ann2, ben] = [sender('ann', 'a1'), sender('ann', 'a2'), sender('ben', 'b1')];
  await online(ann, ann2, ben);
  const message = (messageType: 1 | 2, to: string): ChatPayload => ({
    to,
    messageType,
    contentType: 1,
    content: 'hi',
    kind: '',
    avatar: '',
    fromUsername: 'ann',
    url: '',
    fileSuffix: '',
    file: new Uint8Array(),
    duration: 0,
  });
  await assert.rejects(manager.chat(ann, message(2, 'r')), code(ErrorCode.NotInRoom));
  manager.join(ann, 'r');
  manager.join(ann2, 'r');
  manager.join(ben, 'r');
  for (const d of ['a1', 'a2', 'b1']) take(d);

  assert.deepEqual(await manager.chat(ann, message(2, 'r')), { timestamp: 42 });
  const group = { type: 'chat:message', from: 'ann', message: message(2, 'r'), timestamp: 42 };
  assert.deepEqual(take('b1'), [group]);
  assert.deepEqual(take('a2'), [group]);
  assert.deepEqual(take('a1'), []);

  await manager.chat(ann, message(1, 'ben'));
  assert.equal(take('b1').length, 1);
  assert.equal(take('a2').length, 1, "the sender's other device keeps the conversation");
  assert.deepEqual(take('a1'), []);
  await assert.rejects(manager.chat(ann, message(1, 'dan')), code(ErrorCode.TargetOffline));
  manager.close();
});
