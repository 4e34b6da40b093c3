import type { Command } from '@parley/protocol';

/** Commands that run where the rooms are (ROOM signaling spans rooms and pairs). */
const ROOM_COMMANDS: ReadonlySet<string> = new Set([
  'room:join',
  'room:leave',
  'room:members',
  'room:signal',
]);

/** Whether a command runs on the rooms' holder: room commands, and group chat (to a room). */
export const runsWithRooms = (c: Command): boolean =>
  ROOM_COMMANDS.has(c.type) || (c.type === 'chat:send' && c.message.messageType === 2);
