import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { deriveKey, SrtcpSender } from './srtcp.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

test('deriveKey gives the session keys of RFC 3711 B.3 (the same function for every label)', () => {
  const key = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const salt = hex('0EC675AD498AFEEBB6960B3AABE6');
  assert.equal(deriveKey(key, salt, 0x00, 16).toString('hex'), 'c61e7a93744f39ee10734afe3ff7a087');
  assert.equal(deriveKey(key, salt, 0x02, 14).toString('hex'), '30cbbc08863d8c85d49db34a9ae1');
  assert.equal(
    deriveKey(key, salt, 0x01, 20).toString('hex'),
    'cebe321f6ff7716b6fd4ab49af256a156d38baa4',
  );
});

test('SrtcpSender encrypts all but the first 8 bytes, appends E|index and an 80-bit HMAC tag', () => {
  const master = Buffer.alloc(30, 7);
  const sender = new SrtcpSender(master.toString('base64'));
  const rtcp = hex('8fcd0005 11223344 55667788 00010003 00000100 d5550000');
  const first = sender.protect(rtcp);
  const second = sender.protect(rtcp);
  assert.equal(first.length, rtcp.length + 4 + 10);
  assert.deepEqual(first.subarray(0, 8), rtcp.subarray(0, 8));
  assert.equal(first.readUInt32BE(rtcp.length), 0x80000000);
  assert.equal(second.readUInt32BE(rtcp.length), 0x80000001);
  // Decrypting with the labels 3 (key), 4 (auth) and 5 (salt) gives the packet back.
  const [k, s] = [master.subarray(0, 16), master.subarray(16)];
  const iv = Buffer.alloc(16);
  deriveKey(k, s, 0x05, 14).copy(iv);
  for (let i = 0; i < 4; i++) iv[4 + i]! ^= rtcp[4 + i]!;
  const clear = createCipheriv('aes-128-ctr', deriveKey(k, s, 0x03, 16), iv).update(
    first.subarray(8, rtcp.length),
  );
  assert.deepEqual(clear, rtcp.subarray(8));
  const tag = createHmac('sha1', deriveKey(k, s, 0x04, 20))
    .update(first.subarray(0, rtcp.length + 4))
    .digest()
    .subarray(0, 10);
  assert.deepEqual(first.subarray(rtcp.length + 4), tag);
  // A different index: a different keystream.
  assert.notDeepEqual(second.subarray(8, rtcp.length), first.subarray(8, rtcp.length));
});

test('SrtcpSender with AEAD_AES_256_GCM: header in the clear, GCM over the rest, tag then E|index (RFC 7714)', () => {
  const master = Buffer.alloc(44, 9);
  const sender = new SrtcpSender(master.toString('base64'), 'AEAD_AES_256_GCM');
  const rtcp = hex('8fcd0005 11223344 55667788 00010003 00000100 d5550000');
  sender.protect(rtcp);
  const second = sender.protect(rtcp);
  assert.equal(second.length, rtcp.length + 16 + 4);
  assert.deepEqual(second.subarray(0, 8), rtcp.subarray(0, 8));
  const trailer = second.subarray(rtcp.length + 16);
  assert.equal(trailer.readUInt32BE(), 0x80000001);
  // The session key (label 3, 32 bytes) and salt (label 5, 12 bytes) from the 12-byte master
  // salt; the IV: the salt XOR 00 00 | SSRC | 00 00 | index.
  const [k, s] = [master.subarray(0, 32), master.subarray(32)];
  const iv = deriveKey(k, s, 0x05, 12);
  for (let i = 0; i < 4; i++) iv[2 + i]! ^= rtcp[4 + i]!;
  iv[11]! ^= 1;
  const decipher = createDecipheriv('aes-256-gcm', deriveKey(k, s, 0x03, 32), iv);
  decipher.setAAD(Buffer.concat([rtcp.subarray(0, 8), trailer]));
  decipher.setAuthTag(second.subarray(rtcp.length, rtcp.length + 16));
  const clear = Buffer.concat([decipher.update(second.subarray(8, rtcp.length)), decipher.final()]);
  assert.deepEqual(clear, rtcp.subarray(8));
});

test('SrtcpSender refuses a key of the wrong length for its suite', () => {
  assert.throws(
    () => new SrtcpSender(Buffer.alloc(30).toString('base64'), 'AEAD_AES_256_GCM'),
    /AEAD_AES_256_GCM takes 44 bytes/,
  );
});
