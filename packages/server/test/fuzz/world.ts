import type { ChatMessage } from '../../src/gateway/dialects/chat-protobuf.ts';
import type { Value } from './values.ts';

/**
 * The vocabulary of a fuzz run: its dialects, the world its frames refer to (users, meetings,
 * rooms), what a frame to send is, and the placeholders the driver fills in at send time.
 */

/** The connections each fuzz user holds, one per dialect. */
export const DIALECTS = ['native', 'video_call', 'room', 'chat', 'meeting', 'socket.io'] as const;
export type FuzzDialect = (typeof DIALECTS)[number];

/** The world the frames refer to: its users, meetings and rooms exist. */
export interface FuzzWorld {
  users: readonly string[];
  meetingIds: readonly string[];
  roomIds: readonly string[];
  /**
   * The users of the chat-protobuf connections, apart from `users` (who hold every other
   * dialect's). A ROOM or native room signal goes to the target's devices in a room it shares
   * with the sender, and chat-protobuf shows no room signals (docs/protocol.md): a signal to a
   * user whose only such device is a chat one is accepted and then dropped, neither answered
   * nor delivered. Room signals only ever target `users`, who have no chat device.
   */
  chatUsers: readonly string[];
}

/** How a frame's request id is set: the driver assigns a unique one, or the case holds its own. */
export type IdMode = 'assign' | 'none' | { own: Value };

/** One frame to send. */
export type Payload =
  /** A JSON object; `id` says how its request id is set (where the dialect has one). */
  | { kind: 'json'; value: Record<string, Value>; id: IdMode }
  /** Text as is (not JSON, or any JSON value). */
  | { kind: 'text'; text: string }
  /** A binary frame. */
  | { kind: 'bytes'; bytes: Uint8Array }
  /** A ChatMessage, encoded at send time (after `SELF` is replaced). */
  | { kind: 'chat'; message: Partial<ChatMessage> }
  /** A socket.io event: name, argument, and whether an ack is asked for. */
  | { kind: 'event'; event: string; arg: Value; ack: boolean };

/**
 * Stands for the sending user's own id wherever a user id goes (a handler past the identity
 * checks needs it); the driver replaces it when it sends the frame.
 */
export const SELF = '@self';

/** A frame and who sends it. */
export interface FrameCase {
  dialect: FuzzDialect;
  /** Index into `FuzzWorld.users`. */
  user: number;
  payload: Payload;
}

/**
 * Ids the server hands out (transports, producers, calls ...): a frame names one with `@` and
 * the key (`"@transportId"`), and the driver puts in one it has seen in an answer, so that
 * requests about real objects get past "not found".
 */
export const LEARNED = [
  'transportId',
  'producerId',
  'consumerId',
  'dataProducerId',
  'callId',
] as const;
export type LearnedKey = (typeof LEARNED)[number];
