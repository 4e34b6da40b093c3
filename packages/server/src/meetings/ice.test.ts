import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { iceServers } from './ice.ts';

const base = { stunUrls: [], turnUrls: [], turnTtlSec: 600 };

test('no STUN and no TURN by default', () => {
  assert.deepEqual(iceServers(base, 'alice', 0), []);
});

test('each STUN URL is one server', () => {
  assert.deepEqual(iceServers({ ...base, stunUrls: ['stun:a:3478', 'stun:b:3478'] }, 'alice', 0), [
    { urls: 'stun:a:3478' },
    { urls: 'stun:b:3478' },
  ]);
});

test('TURN gets an ephemeral coturn use-auth-secret credential', () => {
  const now = Date.UTC(2026, 1, 26, 16, 0, 0);
  const [turn] = iceServers(
    { ...base, turnUrls: ['turn:t.example:3478', 'turns:t.example:5349'], turnSecret: 's3cret!!' },
    'alice',
    now,
  );
  const expiry = now / 1000 + 600;
  assert.equal(turn?.username, `${expiry}:alice`);
  assert.deepEqual(turn?.urls, ['turn:t.example:3478', 'turns:t.example:5349']);
  // What coturn computes: base64(hmac-sha1(static-auth-secret, username)).
  const expected = createHmac('sha1', 's3cret!!').update(`${expiry}:alice`).digest('base64');
  assert.equal(turn?.credential, expected);
});

test('a known vector, so that a change of algorithm or encoding cannot slip through', () => {
  const ice = { ...base, turnTtlSec: 60, turnUrls: ['turn:x'], turnSecret: 'secret' };
  assert.deepEqual(iceServers(ice, 'bob', 1_700_000_000_000), [
    { urls: 'turn:x', username: '1700000060:bob', credential: 'UGwEC8fXBc7dtjc2zKZRUfPbxHs=' },
  ]);
});
