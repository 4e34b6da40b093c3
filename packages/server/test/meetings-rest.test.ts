import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startServer, type TestServer } from './harness.ts';
import { createMeeting, joinMeeting, rest } from './meeting-kit.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MISSING = '00000000-0000-4000-8000-000000000000';

describe('meetings REST', () => {
  let srv: TestServer;

  before(async () => {
    srv = await startServer({
      ice: {
        stunUrls: ['stun:stun.example.org:3478'],
        turnUrls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'],
        turnSecret: 'coturn-shared-secret',
        turnTtlSec: 3600,
      },
    });
  });
  after(() => srv.close());

  test('create: the creator is host; data.meetingId is a UUID', async () => {
    const r = await rest(srv, 'hana', 'POST', '/api/meetings', { title: 'Weekly' });
    assert.equal(r.status, 200);
    assert.equal(r.body.code, 0);
    assert.equal(r.body.message, 'success');
    assert.match(r.body.data.meetingId, UUID);
    assert.equal(r.body.data.hostId, 'hana');
    assert.equal(r.body.data.title, 'Weekly');
    assert.equal(r.body.data.status, 'active');
    const untitled = await rest(srv, 'hana', 'POST', '/api/meetings');
    assert.equal(untitled.status, 200, 'the body is optional');
    assert.equal(untitled.body.data.title, null);
  });

  test('join, get, leave: participants with joined_at and left_at in the store', async () => {
    const id = await createMeeting(srv, 'hana');
    const j = await rest(srv, 'ivan', 'POST', `/api/meetings/${id}/join`, { nickname: 'Ivan I.' });
    assert.equal(j.status, 200);
    assert.deepEqual(
      { ...j.body.data, joinedAt: typeof j.body.data.joinedAt },
      {
        meetingId: id,
        userId: 'ivan',
        nickname: 'Ivan I.',
        role: 'participant',
        joinedAt: 'string',
        leftAt: null,
      },
    );
    const again = await rest(srv, 'ivan', 'POST', `/api/meetings/${id}/join`, { nickname: 'x' });
    assert.equal(again.body.data.joinedAt, j.body.data.joinedAt, 'joining twice is idempotent');
    const host = await rest(srv, 'hana', 'POST', `/api/meetings/${id}/join`);
    assert.equal(host.body.data.role, 'host');
    assert.equal(host.body.data.nickname, 'HANA', 'nickname defaults to the token name');

    const g = await rest(srv, 'stranger', 'GET', `/api/meetings/${id}`);
    assert.equal(g.status, 200);
    assert.deepEqual(
      g.body.data.participants.map((p: { userId: string }) => p.userId),
      ['ivan', 'hana'],
    );

    const l = await rest(srv, 'ivan', 'POST', `/api/meetings/${id}/leave`);
    assert.equal(l.status, 200);
    const rows = await srv.app.db.kysely
      .selectFrom('meeting_participants')
      .selectAll()
      .where('meeting_id', '=', id)
      .where('user_id', '=', 'ivan')
      .execute();
    assert.equal(rows.length, 1);
    assert.ok(rows[0]!.joined_at);
    assert.ok(rows[0]!.left_at, 'left_at is set');
    const g2 = await rest(srv, 'hana', 'GET', `/api/meetings/${id}`);
    assert.deepEqual(
      g2.body.data.participants.map((p: { userId: string }) => p.userId),
      ['hana'],
    );
    await joinMeeting(srv, id, 'ivan');
    const stays = await srv.app.db.kysely
      .selectFrom('meeting_participants')
      .select(['left_at'])
      .where('meeting_id', '=', id)
      .where('user_id', '=', 'ivan')
      .orderBy('id')
      .execute();
    assert.equal(stays.length, 2, 'rejoining opens a new stay');
    assert.equal(stays[1]!.left_at, null);
  });

  test('end: host only; everyone leaves; the meeting is ended for good', async () => {
    const id = await createMeeting(srv, 'hana');
    await joinMeeting(srv, id, 'hana', 'ivan');
    const notHost = await rest(srv, 'ivan', 'POST', `/api/meetings/${id}/end`);
    assert.equal(notHost.status, 403);
    assert.equal(notHost.body.code, 40301);
    const end = await rest(srv, 'hana', 'POST', `/api/meetings/${id}/end`);
    assert.equal(end.status, 200);
    assert.equal(end.body.data.endedBy, 'hana');
    assert.ok(Date.parse(end.body.data.endedAt));
    const g = await rest(srv, 'ivan', 'GET', `/api/meetings/${id}`);
    assert.equal(g.body.data.status, 'ended');
    assert.equal(g.body.data.endedBy, 'hana');
    assert.deepEqual(g.body.data.participants, [], 'every stay was closed');
    for (const [user, method, path] of [
      ['hana', 'POST', 'end'],
      ['ivan', 'POST', 'join'],
      ['ivan', 'POST', 'leave'],
      ['ivan', 'GET', 'media-config'],
    ] as const) {
      const r = await rest(srv, user, method, `/api/meetings/${id}/${path}`);
      assert.equal(r.status, 410, path);
      assert.equal(r.body.code, 41001, path);
    }
  });

  test('media-config: STUN, and TURN with an ephemeral coturn credential', async () => {
    const id = await createMeeting(srv, 'hana');
    await joinMeeting(srv, id, 'ivan');
    const before = Math.floor(Date.now() / 1000);
    const r = await rest(srv, 'ivan', 'GET', `/api/meetings/${id}/media-config`);
    assert.equal(r.status, 200);
    const [stun, turn, ...rest_] = r.body.data.iceServers;
    assert.deepEqual(rest_, []);
    assert.deepEqual(stun, { urls: 'stun:stun.example.org:3478' });
    assert.deepEqual(turn.urls, [
      'turn:turn.example.org:3478?transport=udp',
      'turns:turn.example.org:5349',
    ]);
    const [expiry, user] = (turn.username as string).split(':');
    assert.equal(user, 'ivan');
    assert.ok(Number(expiry) >= before + 3600 && Number(expiry) <= before + 3602, 'TTL');
    const want = createHmac('sha1', 'coturn-shared-secret').update(turn.username).digest('base64');
    assert.equal(turn.credential, want);
  });

  test('error codes and statuses', async () => {
    const id = await createMeeting(srv, 'hana');
    const cases: Array<[string, 'GET' | 'POST', string, unknown, number, number]> = [
      ['missing meeting', 'GET', `/api/meetings/${MISSING}`, undefined, 404, 40401],
      ['join missing', 'POST', `/api/meetings/${MISSING}/join`, {}, 404, 40401],
      [
        'media-config missing',
        'GET',
        `/api/meetings/${MISSING}/media-config`,
        undefined,
        404,
        40401,
      ],
      ['not a UUID', 'GET', '/api/meetings/nope', undefined, 404, 40401],
      [
        'media-config, not joined',
        'GET',
        `/api/meetings/${id}/media-config`,
        undefined,
        403,
        40301,
      ],
      ['leave, not joined', 'POST', `/api/meetings/${id}/leave`, undefined, 403, 40301],
      ['end, not host', 'POST', `/api/meetings/${id}/end`, undefined, 403, 40301],
      ['bad nickname', 'POST', `/api/meetings/${id}/join`, { nickname: 7 }, 400, 40001],
      ['empty nickname', 'POST', `/api/meetings/${id}/join`, { nickname: '' }, 400, 40001],
      ['title too long', 'POST', '/api/meetings', { title: 'x'.repeat(201) }, 400, 40001],
    ];
    for (const [name, method, path, body, status, code] of cases) {
      const r = await rest(srv, 'ivan', method, path, body);
      assert.equal(r.status, status, name);
      assert.equal(r.body.code, code, name);
    }
    const bad = await fetch(`${srv.httpBase}/api/meetings`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await srv.token('ivan')}`,
        'content-type': 'application/json',
      },
      body: '{not json',
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: number }).code, 40001);
    const anon = await fetch(`${srv.httpBase}/api/meetings/${id}`);
    assert.equal(anon.status, 401);
  });
});
