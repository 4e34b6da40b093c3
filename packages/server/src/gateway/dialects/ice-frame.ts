import { candidateJson, type ServerEvent } from '@parley/protocol';

type IceEvent = Extract<ServerEvent, { type: 'call:ice' }>;

/** The frame of a call's ICE from one side, up to its candidate, and what it was made of. */
interface IceHead {
  callId: string;
  caller: string;
  callee: string;
  media: string;
  from: string;
  text: string;
  /** `text` as UTF-8, for a frame around the candidate's literal bytes. */
  bytes: Buffer;
}

const CLOSE_BRACE = 0x7d;

/** Calls whose heads are kept; past it the cache starts afresh (a miss costs one stringify). */
const MAX_CALLS = 8192;

/**
 * Native `call:ice` frames. A relayed candidate is the hot path of a signaling server, and all
 * of its frame but the candidate is the same for every candidate one side of a call sends: that
 * part is made once per side and call. The candidate is copied from the sender's frame when
 * its dialect kept the literal (`candidateJson`), else stringified. Either way the text is the
 * same as `JSON.stringify({type, data: event})` (origin left out), up to the whitespace the
 * sender's literal may hold.
 */
export class IceFrames {
  /** By call: the head of each side (a call's two sides alternate, so both are kept). */
  private readonly heads = new Map<string, [IceHead | null, IceHead | null]>();

  frame(event: IceEvent): string | Buffer {
    const head = this.head(event);
    const literal = event[candidateJson];
    if (literal === undefined) return `${head.text}${JSON.stringify(event.candidate)}}}`;
    // The candidate as the sender wrote it: copied, not stringified again.
    const out = Buffer.allocUnsafe(head.bytes.length + literal.length + 2);
    out.set(head.bytes, 0);
    out.set(literal, head.bytes.length);
    out[out.length - 2] = CLOSE_BRACE;
    out[out.length - 1] = CLOSE_BRACE;
    return out;
  }

  private head(event: IceEvent): IceHead {
    let sides = this.heads.get(event.callId);
    if (sides === undefined) {
      if (this.heads.size >= MAX_CALLS) this.heads.clear();
      sides = [null, null];
      this.heads.set(event.callId, sides);
    }
    if (sides[0] !== null && matches(sides[0], event)) return sides[0];
    if (sides[1] !== null && matches(sides[1], event)) return sides[1];
    const made = makeHead(event);
    // The side that sent last stays; the slot of the other (or a stale one) is taken.
    if (sides[0] !== null && sides[0].from === event.from) sides[0] = made;
    else if (sides[1] !== null && sides[1].from === event.from) sides[1] = made;
    else {
      sides[1] = sides[0];
      sides[0] = made;
    }
    return made;
  }
}

function matches(head: IceHead, e: IceEvent): boolean {
  return (
    head.from === e.from &&
    head.caller === e.caller &&
    head.callee === e.callee &&
    head.media === e.media &&
    head.callId === e.callId
  );
}

function makeHead(e: IceEvent): IceHead {
  const { callId, caller, callee, media, from } = e;
  const data = JSON.stringify({ type: e.type, callId, caller, callee, media, from });
  // `{"type":"call:ice","data":{…,"from":"…","candidate":` — the candidate and `}}` follow.
  const text = `{"type":${JSON.stringify(e.type)},"data":${data.slice(0, -1)},"candidate":`;
  return { callId, caller, callee, media, from, text, bytes: Buffer.from(text) };
}
