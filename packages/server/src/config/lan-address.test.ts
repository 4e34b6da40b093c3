import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lanAddress, sfuAddressDefaults } from './lan-address.ts';
import { loadConfig } from './index.ts';

const lo = { address: '127.0.0.1', family: 'IPv4', internal: true } as const;
const v6 = { address: 'fd00::2', family: 'IPv6', internal: false } as const;
const lanV4 = { address: '192.168.1.20', family: 'IPv4', internal: false } as const;
const info = (i: object) => ({ netmask: '', mac: '', cidr: null, ...i }) as never;

test('the LAN address is the first non-loopback IPv4 one', () => {
  assert.equal(lanAddress({ lo: [info(lo)], eth0: [info(v6), info(lanV4)] }), '192.168.1.20');
  assert.equal(lanAddress({ lo: [info(lo)] }), undefined);
});

test('the SFU listens where HOST does; a wildcard announces the LAN address', () => {
  const lan = () => '192.168.1.20';
  assert.deepEqual(sfuAddressDefaults({}, lan), {}, 'nothing set: the schema default (loopback)');
  assert.deepEqual(sfuAddressDefaults({ server: { host: '0.0.0.0' } }, lan), {
    sfu: { listenIp: '0.0.0.0', announcedIp: '192.168.1.20' },
  });
  assert.deepEqual(sfuAddressDefaults({ server: { host: '10.0.0.5' } }, lan), {
    sfu: { listenIp: '10.0.0.5' },
  });
  assert.deepEqual(sfuAddressDefaults({ server: { host: '::' } }, lan), {}, 'IPv6 HOST: default');
  // What is configured wins.
  const set = { server: { host: '0.0.0.0' }, sfu: { listenIp: '127.0.0.1' } };
  assert.deepEqual(sfuAddressDefaults(set, lan), { sfu: { listenIp: '127.0.0.1' } });
  const pub = { sfu: { listenIp: '0.0.0.0', announcedIp: '203.0.113.7' } };
  assert.deepEqual(sfuAddressDefaults(pub, lan), {
    sfu: { listenIp: '0.0.0.0', announcedIp: '203.0.113.7' },
  });
  assert.deepEqual(
    sfuAddressDefaults({ sfu: { listenIp: '0.0.0.0' } }, () => undefined),
    {
      sfu: { listenIp: '0.0.0.0' },
    },
  );
});

test('loadConfig: HOST=0.0.0.0 alone gives media that works on the LAN', () => {
  const c = loadConfig({ HOST: '0.0.0.0' });
  assert.equal(c.sfu.listenIp, '0.0.0.0');
  assert.equal(c.sfu.announcedIp, lanAddress());
  assert.equal(loadConfig({}).sfu.listenIp, '127.0.0.1');
  assert.equal(loadConfig({}).sfu.announcedIp, undefined);
  const pinned = loadConfig({ HOST: '0.0.0.0', PARLEY_SFU_LISTEN_IP: '127.0.0.1' });
  assert.equal(pinned.sfu.listenIp, '127.0.0.1');
});
