import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeChatMessage, decodeChatMessage } from '../src/gateway/dialects/chat-protobuf.ts';
import { createSchema } from './cluster-harness.ts';
import { startServer, TestClient, type Frame, type TestServer } from './harness.ts';
import { createMeeting, rest } from './meeting-kit.ts';

/**
 * Ids and stored text are checked at the edge (docs/protocol.md, "Ids and text"): a control
 * character (NUL, which PostgreSQL refuses, among them) in an id or a title is a typed
 * bad_request in every dialect and REST route, and a token whose `sub` is not an id is refused.
 * Before, a NUL in a title answered `internal` on PostgreSQL, and a callee id with a NUL rang
 * while its record could not be written. Each store runs the same checks.
 */

const stores: Array<{
  name: string;
  database: () => Promise<{ url?: string; drop: () => Promise<void> }>;
}> = [
  { name: 'sqlite', database: () => Promise.resolve({ drop: () => Promise.resolve() }) },
  { name: 'postgres', database: createSchema },
];

for (const store of stores) {
  describe(`ids and text on ${store.name}`, () => {
    let srv: TestServer;
    let drop: () => Promise<void>;
    before(async () => {
      const db = await store.database();
      drop = db.drop;
      srv = await startServer({
        limits: { rateBurst: 1000 },
        ...(db.url ? { databaseUrl: db.url } : {}),
      });
    });
    after(async () => {
      await srv.close();
      await drop();
    });

    test('REST: a NUL or control character in a title, nickname or path id is 400', async () => {
      for (const title of ['a\u0000b', 'line\nbreak', 'bell\u0007', 'lone \ud800']) {
        const r = await rest(srv, 'ana', 'POST', '/api/meetings', { title });
        assert.equal(r.status, 400, `${JSON.stringify(title)}: ${JSON.stringify(r.body)}`);
        assert.deepEqual([r.body.code, r.body.error], [40001, 'bad_request']);
        assert.match(r.body.message as string, /\/title: control characters are not allowed/);
      }
      // Any other text is kept as it was sent.
      const fine = await rest(srv, 'ana', 'POST', '/api/meetings', { title: 'Réunion 会议 🎥' });
      assert.equal(fine.status, 200, JSON.stringify(fine.body));
      const id = fine.body.data.meetingId as string;
      assert.equal(
        (await rest(srv, 'ana', 'GET', `/api/meetings/${id}`)).body.data.title,
        'Réunion 会议 🎥',
      );

      const nick = await rest(srv, 'ben', 'POST', `/api/meetings/${id}/join`, {
        nickname: 'b\u0000',
      });
      assert.equal(nick.status, 400, JSON.stringify(nick.body));
      for (const path of ['/api/meetings/%00', `/api/meetings/x%01/join`, '/api/calls/%00']) {
        const r = await rest(srv, 'ana', path.endsWith('join') ? 'POST' : 'GET', path);
        assert.deepEqual([r.status, r.body.error], [400, 'bad_request'], path);
      }
    });

    test('a token whose sub is not an id (or whose name is not text) is refused: 401', async () => {
      for (const [sub, name] of [
        ['eve\u0000', 'Eve'],
        ['eve\nadmin', 'Eve'],
        ['x'.repeat(129), 'Eve'],
        ['eve', 'E\u0000ve'],
      ] as const) {
        const token = await srv.token(sub, { name });
        const res = await fetch(`${srv.httpBase}/api/calls`, {
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(res.status, 401, JSON.stringify(sub));
        await assert.rejects(TestClient.open(`${srv.wsBase}/ws?token=${token}`), /HTTP 401/);
      }
    });

    test('a long token name becomes a nickname of 64 characters', async () => {
      const id = await createMeeting(srv, 'cid');
      const token = await srv.token('dee', { name: 'ü'.repeat(100) });
      const res = await fetch(`${srv.httpBase}/api/meetings/${id}/join`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await res.json()) as Frame;
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.data.nickname, 'ü'.repeat(64));
    });

    test('every dialect refuses a callee, target or room id with a NUL; nothing rings', async () => {
      const fay = await srv.connect('fay');
      const victim = await srv.connect('gus');
      const r = await fay.request('call:invite', { callee: 'gus\u0000', media: 'audio' });
      assert.equal((r.error as Frame).code, 'bad_request', JSON.stringify(r));
      assert.match((r.error as Frame).message as string, /\/callee: control characters/);

      const vc = await srv.connect('hal', 'video_call');
      vc.send({
        type: 'video_call',
        data: { type: 'call_request', caller_userid: 'hal', callee_userid: 'gus\u0000' },
      });
      const vcError = await vc.nextVc('error');
      assert.equal(vcError.data.code, 'bad_request', JSON.stringify(vcError));

      const room = await srv.connect('ian', 'room');
      room.send({
        requestId: 'j1',
        module: 'ROOM',
        cmd: 'JOIN_ROOM',
        code: 200,
        msg: 'success',
        data: { roomId: 'r\u0000' },
      });
      const roomError = await room.next((f) => f.requestId === 'j1');
      assert.equal(roomError.code, 400, JSON.stringify(roomError));
      assert.match(roomError.msg as string, /data\.roomId/);

      const chat = await srv.connect('jay', 'chat');
      chat.send(
        encodeChatMessage({
          from: 'jay',
          to: 'gus\u0000',
          contentType: 6,
          messageType: 1,
          content: JSON.stringify({ type: 'call-invite' }),
        }),
      );
      const chatError = await chat.next((f) => Buffer.isBuffer(f.binary));
      const content = JSON.parse(decodeChatMessage(chatError.binary as Buffer).content) as Frame;
      assert.equal(content.code, 'bad_request', JSON.stringify(content));

      const meeting = await srv.connect('kim');
      const m = await meeting.request('rtc:join', { meetingId: 'm\u0000' });
      assert.equal((m.error as Frame).code, 'bad_request', JSON.stringify(m));

      assert.deepEqual(await victim.quiet(), [], 'nothing reached gus');
      // Ids outside ASCII are ids: a call between them is recorded.
      const zoe = await srv.connect('zoë');
      const lei = await srv.connect('李雷');
      const invite = await zoe.request('call:invite', { callee: '李雷', media: 'audio' });
      assert.equal(invite.type, 'ok', JSON.stringify(invite));
      const callId = (invite.data as Frame).callId as string;
      await lei.nextType('call:incoming');
      assert.equal((await zoe.request('call:hangup', { callId })).type, 'ok');
      await zoe.nextType('call:record');
      const record = await rest(srv, '李雷', 'GET', `/api/calls/${encodeURIComponent(callId)}`);
      assert.deepEqual(
        [record.status, record.body.data?.caller, record.body.data?.callee],
        [200, 'zoë', '李雷'],
      );
    });
  });
}
