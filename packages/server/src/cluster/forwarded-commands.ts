import type { Hub } from '../gateway/index.ts';
import type { BusRouter } from './bus-router.ts';
import type { LocalRunner, Rpc } from './rpc.ts';

/**
 * Commands other nodes forward to this one (the owner of their call, meeting or the rooms); the
 * outcome goes back as a reply (see Rpc). A forwarded command also says where its
 * sender is connected, which the hub keeps to answer it without asking the directory.
 */
export function routeForwardedCommands(
  router: BusRouter,
  o: { rpc: Rpc; hub: Pick<Hub, 'learn'>; run: LocalRunner },
): void {
  router.on('command', (m) => {
    o.hub.learn(m.sender.deviceId, m.replyTo);
    o.rpc.serve(m, o.run);
  });
}
