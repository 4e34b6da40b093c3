import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Device, FakeHandler, testFakeParameters } from 'mediasoup-client';
import { MeetingDevices } from './devices.ts';

/** MeetingDevices over mediasoup-client's FakeHandler, counting the Devices it makes. */
function counted(failFirst = false) {
  const made: Device[] = [];
  const devices = new MeetingDevices(() => {
    const d = new Device({ handlerFactory: FakeHandler.createFactory(testFakeParameters) });
    if (failFirst && made.length === 0) {
      d.load = () => Promise.reject(new Error('no RTCPeerConnection'));
    }
    made.push(d);
    return d;
  });
  return { devices, made };
}

const caps = () => testFakeParameters.generateRouterRtpCapabilities();

test('one loaded Device for every meeting whose router has the same capabilities', async () => {
  const { devices, made } = counted();
  const first = await devices.device(caps());
  assert.ok(first.loaded);
  assert.equal(await devices.device(caps()), first);
  assert.equal(made.length, 1);
});

test('joins at once share the one load under way', async () => {
  const { devices, made } = counted();
  const [a, b] = await Promise.all([devices.device(caps()), devices.device(caps())]);
  assert.equal(a, b);
  assert.equal(made.length, 1);
});

test('a router with other capabilities gets a Device of its own, which is then the shared one', async () => {
  const { devices, made } = counted();
  const first = await devices.device(caps());
  const all = caps();
  const other = {
    ...all,
    codecs: all.codecs!.filter((c) => c.kind === 'audio' || c.mimeType === 'video/VP8'),
  };
  const second = await devices.device(other);
  assert.notEqual(second, first);
  assert.ok(second.loaded);
  assert.equal(await devices.device(other), second);
  assert.equal(made.length, 2);
});

test('a failed load is not kept: the next meeting loads again', async () => {
  const { devices, made } = counted(true);
  await assert.rejects(devices.device(caps()), /no RTCPeerConnection/);
  const device = await devices.device(caps());
  assert.ok(device.loaded);
  assert.equal(made.length, 2);
});
