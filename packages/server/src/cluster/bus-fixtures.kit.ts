import type { Media, SdpEvent, ServerEvent } from '@parley/protocol';
import type { Logger } from '../observability/index.ts';
import { LinkedBus } from './linked-bus.ts';
import { NodeLinks, type LinkPeers } from './links.ts';
import type { RedisBus } from './redis-bus.ts';

/** What the bus tests share: nodes with direct links, and the events the bus carries. */

/** What the registry would say of the nodes: each one's advert, and who is taken for dead. */
export class Peers implements LinkPeers {
  readonly adverts = new Map<string, string>();
  readonly dead = new Set<string>();
  advertOf(nodeId: string): string | undefined {
    return this.adverts.get(nodeId);
  }
  isAlive(nodeId: string): boolean {
    return !this.dead.has(nodeId);
  }
}

/**
 * `nodeId`'s direct links (on a free port, advertised to `peers`, quick to notice a silent
 * link) and its bus: `redisBus` with those links around it.
 */
export async function linkedNode(
  nodeId: string,
  redisBus: RedisBus,
  peers: Peers,
  log: Logger,
): Promise<{ links: NodeLinks; bus: LinkedBus }> {
  const links = await NodeLinks.listen({
    nodeId,
    host: '127.0.0.1',
    port: 0,
    pingMs: 200,
    timeoutMs: 1_000,
    log,
  });
  links.usePeers(peers);
  peers.adverts.set(nodeId, links.advert);
  return { links, bus: new LinkedBus(redisBus, links) };
}

/** A chat message to bob carrying `content` and a file (bytes, which must stay bytes). */
export const chatWithFile = (content: string, file: Uint8Array): ServerEvent => ({
  type: 'chat:message',
  from: 'alice',
  timestamp: 1,
  message: {
    to: 'bob',
    messageType: 1,
    contentType: 2,
    content,
    kind: '',
    avatar: '',
    fromUsername: 'alice',
    url: '',
    fileSuffix: 'bin',
    file,
    duration: 0,
  },
});

/** alice's offer to bob in call n1.x, as relayed to bob's node. */
export const offerToBob = (media: Media, sdp: string): SdpEvent => ({
  type: 'call:offer',
  callId: 'n1.x',
  caller: 'alice',
  callee: 'bob',
  media,
  from: 'alice',
  sdp,
});
