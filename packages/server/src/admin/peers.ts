import type {
  AdminOp,
  AdminPeers,
  AdminResults,
  BusRoutes,
  Nodes,
  Requests,
} from '../core/index.ts';

/** The other nodes, for the admin API: the live ones, and each one's AdminOps over the bus. */
export function adminPeers(nodes: Pick<Nodes, 'live'>, requests: Requests): AdminPeers {
  return {
    nodes: () => nodes.live(),
    ask: async <O extends AdminOp>(nodeId: string, op: O) =>
      (await requests.ask(nodeId, (corr, replyTo) => ({
        kind: 'admin',
        corr,
        replyTo,
        op,
      }))) as AdminResults[O['op']],
  };
}

/** The admin API of another node: what it asks of this node's calls, devices, media rooms. */
export function routeAdmin(
  router: BusRoutes,
  requests: Requests,
  run: (op: AdminOp) => Promise<unknown>,
): void {
  router.on('admin', (m) => requests.answer(m, `admin:${m.op.op}`, () => run(m.op)));
}
