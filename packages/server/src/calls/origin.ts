import type { CallEvent, ChatOrigin } from '@parley/protocol';
import type { Effect, SendEffect, Transition } from './state.ts';

/** The events that tell the other party what a command did (and so may forward its message). */
const TELLS_PEER = new Set<CallEvent['type']>(['call:incoming', 'call:accepted', 'call:ended']);

/**
 * A command's transition with the sender's chat-protobuf message (ChatOrigin) attached to the
 * events that tell the other party about it, so that a chat-protobuf recipient gets the message
 * as sent. Events for the sender's own devices are left as they are.
 */
export function withOrigin(t: Transition, origin: ChatOrigin, sender: string): Transition {
  const mark = (e: SendEffect): SendEffect =>
    e.to.userId !== sender && TELLS_PEER.has(e.event.type)
      ? { ...e, event: { ...e.event, origin } as CallEvent }
      : e;
  const effects = t.effects.map((e): Effect =>
    e.kind === 'send'
      ? mark(e)
      : e.kind === 'finish'
        ? { ...e, announce: e.announce.map(mark) }
        : e,
  );
  return { ...t, effects };
}
