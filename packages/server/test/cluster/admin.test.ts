import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { App } from '../../src/app.ts';
import { call, tokenIssuedAt } from '../admin-kit.ts';
import { startCluster, type ClusterServer } from '../cluster-harness.ts';
import { until, TestClient, type Frame } from '../harness.ts';

/**
 * The admin API across a two-node cluster on Redis and PostgreSQL: lists span the nodes,
 * actions run on the node that holds their call or device, and a revocation made on one node
 * closes the token's sockets on the other within a second.
 */

const of =
  (type: string, callId: string) =>
  (f: Frame): boolean =>
    f.type === type && f.data?.callId === callId;

describe('admin API in a two-node cluster', () => {
  let srv: ClusterServer;
  let root: string | undefined;
  const sockets: TestClient[] = [];
  const base = (app: App) => `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  /** A native connection straight to `app` (not through nginx). */
  const on = async (app: App, token: string) => {
    const c = await TestClient.open(`ws://${base(app)}/ws?token=${token}`);
    sockets.push(c);
    return c;
  };
  /** The admin API of one node. */
  const adminOn = async (app: App, method: string, path: string, body?: unknown) => {
    const token = (root ??= await srv.token('root', { grants: ['admin'] }));
    const r = await call(
      { ...srv, httpBase: `http://${base(app)}` },
      token,
      method,
      `/api/admin${path}`,
      body,
    );
    assert.equal(r.status, 200, `${method} ${path} → ${JSON.stringify(r.body)}`);
    return r.body.data as Frame;
  };

  before(async () => {
    srv = await startCluster({ rest: { rateBurst: 1000 } }, 2);
  });
  after(async () => {
    for (const c of sockets) c.close();
    await srv.close();
  });

  test('calls: one owned by node A is listed and ended through node B', async () => {
    const [a, b] = srv.apps as [App, App];
    const alice = await on(a, await srv.token('alice'));
    const bob = await on(b, await srv.token('bob'));
    const invited = await alice.request('call:invite', { callee: 'bob', media: 'audio' });
    const callId = invited.data.callId as string;
    await bob.next(of('call:incoming', callId));

    const list = await adminOn(b, 'GET', '/calls');
    const listed = list.calls.find((c: Frame) => c.callId === callId);
    assert.ok(listed, JSON.stringify(list));
    assert.equal(listed.node, a.nodeId, 'owned by the node the caller is on');
    assert.deepEqual(await adminOn(b, 'POST', `/calls/${callId}/end`), {
      callId,
      reason: 'admin',
    });
    for (const c of [alice, bob]) {
      assert.equal((await c.next(of('call:ended', callId))).data.reason, 'admin');
    }
  });

  test('users and devices of both nodes; a device on A disconnected through B', async () => {
    const [a, b] = srv.apps as [App, App];
    const carol = await on(a, await srv.token('carol'));
    await on(b, await srv.token('dan'));
    const nodesOf = async (userId: string) =>
      ((await adminOn(b, 'GET', '/users?limit=200')).users as Frame[])
        .find((u) => u.userId === userId)
        ?.devices.map((d: Frame) => d.node) as string[] | undefined;
    await until('carol online on A', async () => (await nodesOf('carol'))?.[0] === a.nodeId);
    await until('dan online on B', async () => (await nodesOf('dan'))?.[0] === b.nodeId);
    const users = (await adminOn(a, 'GET', '/users?limit=200')).users as Frame[];
    const device = users.find((u) => u.userId === 'carol')!.devices[0].deviceId as string;
    const r = await adminOn(b, 'POST', `/users/carol/devices/${device}/disconnect`);
    assert.equal(r.disconnected, true);
    assert.equal((await carol.waitClose()).code, 4012);
  });

  test("a revocation on one node closes the token's sockets on the other within a second", async () => {
    const [a, b] = srv.apps as [App, App];
    const old = await tokenIssuedAt('mallory', Math.floor(Date.now() / 1000) - 60);
    const onA = await on(a, old);
    const onB = await on(b, old);
    await adminOn(a, 'POST', '/revocations', { userId: 'mallory' });
    const answered = Date.now();
    for (const c of [onA, onB]) assert.equal((await c.waitClose()).code, 4011);
    const took = Date.now() - answered;
    assert.ok(took < 1000, `closed on both nodes ${took} ms after the answer`);
    const onB2 = (token: string) =>
      call({ ...srv, httpBase: `http://${base(b)}` }, token, 'GET', '/api/calls');
    assert.equal((await onB2(old)).status, 401, 'node B refuses the token too');

    // By id, the other way round: revoked on B, closed on A.
    const token = await srv.token('oscar');
    const oscar = await on(a, token);
    await adminOn(b, 'POST', '/revocations', { token });
    const answeredB = Date.now();
    assert.equal((await oscar.waitClose()).code, 4011);
    const tookA = Date.now() - answeredB;
    assert.ok(tookA < 1000, `closed on the other node ${tookA} ms after the answer`);
  });
});
