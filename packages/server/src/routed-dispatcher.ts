import type { RtcCommand } from '@parley/protocol';
import type { CallCommandWithCall, Owners } from './core/index.ts';
import { Dispatcher } from './gateway/index.ts';
import { runsWithRooms } from './rooms/index.ts';

/**
 * The node's commands, each run where what it is about lives (a cluster): the commands of
 * `local` wrapped so that calls go to their owner, meetings to their media room's node, rooms
 * and group chat to the rooms' node, and the rest run here.
 */
export function routedDispatcher(local: Dispatcher, owners: Owners): Dispatcher {
  const d = new Dispatcher();
  for (const type of local.types()) {
    if (type === 'call:invite') {
      d.on(type, (sender, c) => owners.invite(sender, c));
    } else if (type.startsWith('call:')) {
      // Every call command but the invite names its call; every rtc command its meeting.
      d.on(type, (sender, c) => owners.call(sender, c as CallCommandWithCall));
    } else if (type.startsWith('rtc:')) {
      d.on(type, (sender, c) => owners.meeting(sender, c as RtcCommand));
    } else {
      d.on(type, (sender, c) =>
        runsWithRooms(c) ? owners.rooms(sender, c) : local.run(sender, c),
      );
    }
  }
  return d;
}
