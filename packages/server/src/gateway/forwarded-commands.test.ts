import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, ErrorCode, type Command } from '@parley/protocol';
import { BusRouter } from '../cluster/bus-router.ts';
import { busNodes, device } from '../cluster/bus-nodes.kit.ts';
import { Rpc } from '../cluster/rpc.ts';
import { routeForwardedCommands } from './forwarded-commands.ts';

test('a forwarded command runs on the node it was sent to; its result or typed error comes back', async () => {
  const { node, close } = busNodes('n1', 'n2');
  const learned: string[] = [];
  const ran: string[] = [];
  routeForwardedCommands(node('n2').router, {
    rpc: node('n2').rpc,
    hub: { learn: (deviceId, nodeId) => learned.push(`${deviceId}@${nodeId}`) },
    run: (sender, command) => {
      ran.push(`${sender.userId}:${command.type}`);
      if (command.type === 'call:hangup') throw AppError.notFound('call');
      return Promise.resolve({ ran: command.type });
    },
  });
  const alice = device('alice');
  const join: Command = { type: 'room:join', roomId: 'r' };
  assert.deepEqual(await node('n1').rpc.request('n2', alice, join), { ran: 'room:join' });
  await assert.rejects(
    node('n1').rpc.request('n2', alice, { type: 'call:hangup', call: { callId: 'c' } }),
    (err: unknown) => err instanceof AppError && err.code === ErrorCode.NotFound,
  );
  assert.deepEqual(ran, ['alice:room:join', 'alice:call:hangup']);
  // The sender's device is on the node that forwarded it: the hub answers it there.
  assert.deepEqual(learned, ['alice-d@n1', 'alice-d@n1']);
  close();
});

test('a request to a node that does not answer fails as unavailable, in its time', async () => {
  const { bus, log, close } = busNodes('n1'); // n1 has no command route: it never answers
  const rpc = new Rpc('n3', bus, 50, log);
  rpc.listen(new BusRouter(bus, 'n3'));
  await assert.rejects(
    rpc.request('n1', device('bob'), { type: 'room:join', roomId: 'r' }),
    (err: unknown) =>
      err instanceof AppError &&
      err.code === ErrorCode.Unavailable &&
      (err.details as { nodeId?: string }).nodeId === 'n1',
  );
  rpc.close();
  close();
});
