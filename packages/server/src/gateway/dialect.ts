import type { AppError, Command, ErrorBody, ServerEvent, SessionReady } from '@parley/protocol';
import type { Sender } from '../core/index.ts';

/** The dialects Parley speaks, one per endpoint. */
export type DialectName = 'native' | 'video_call' | 'room' | 'chat_protobuf' | 'meeting';

/** A frame as the ws library sends it. */
export type WireFrame = string | Buffer;

/** A decoded frame: a command to run, or an error to send back. */
export type Decoded =
  /** `context` names the request in the dialect's terms (e.g. the ROOM cmd) for its errors. */
  | { ok: true; command: Command; requestId?: string; context?: string }
  | { ok: false; error: AppError; requestId?: string; context?: string };

/**
 * One wire protocol. The only code that sees wire shapes: it turns frames into canonical
 * Commands and canonical Events into frames, for one connection (the recipient is passed in
 * because some dialects address frames to it).
 */
export interface Dialect {
  readonly name: DialectName;
  /**
   * Its connections are meeting peers only, not call devices: they stay out of presence, are
   * never rung, and their leaving is a meeting matter alone.
   */
  readonly meetingOnly?: true;
  /** Its frames are binary WebSocket messages; else they are text, given as a string or bytes. */
  readonly binary?: true;
  /** Decodes one frame. Never throws: bad input becomes `{ ok: false }`. */
  decode(data: Buffer, isBinary: boolean, sender: Sender): Decoded;
  /**
   * The requestId and context (the ROOM cmd) of a frame refused before it is decoded (too
   * large, over the rate), as far as a cheap look at its start can read them.
   */
  peek?(data: Buffer, isBinary: boolean): { requestId?: string; context?: string };
  /** Encodes an event for `recipient`, or null when this dialect does not show it. */
  encodeEvent(event: ServerEvent, recipient: Sender): WireFrame | null;
  /** Encodes a command's result for `recipient` (its sender), or null when there is no ack. */
  encodeResult(
    decoded: Extract<Decoded, { ok: true }>,
    result: unknown,
    recipient?: Sender,
  ): WireFrame | null;
  /** Encodes an error in the dialect's own shape. */
  encodeError(error: ErrorBody, requestId?: string, context?: string): WireFrame;
  /**
   * Encodes `session:ready`. Only dialects that have it offer resumable sessions
   * (`?resumable=1`, `?resume=<token>`); on the others those parameters are ignored.
   */
  encodeSession?(session: SessionReady): WireFrame;
}
