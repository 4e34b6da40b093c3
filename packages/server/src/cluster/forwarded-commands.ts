import type { Hub } from '../gateway/index.ts';
import type { BusRouter } from './bus-router.ts';
import type { LocalRunner, Rpc } from './rpc.ts';

/**
 * Commands other nodes forward to this one (the owner of their call, meeting or the rooms),
 * and the replies to those this node forwarded. A forwarded command also says where its
 * sender is connected, which the hub keeps to answer it without asking the directory.
 */
export function routeForwardedCommands(
  router: BusRouter,
  o: { rpc: Rpc; hub: Pick<Hub, 'learn'>; run: LocalRunner },
): void {
  router
    .on('command', (m) => {
      o.hub.learn(m.sender.deviceId, m.replyTo);
      o.rpc.serve(m, o.run);
    })
    .on('reply', (m) => o.rpc.settle(m));
}
