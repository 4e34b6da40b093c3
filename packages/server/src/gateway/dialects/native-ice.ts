import { ID_MAX_LENGTH, candidateJson, type Command, type IceCandidate } from '@parley/protocol';
import { CandidateLimits } from './fields.ts';

type IceCommand = Extract<Command, { type: 'call:ice' }>;

/*
 * A trickled ICE candidate is most of what a signaling server reads, and its frame nearly
 * always comes as the SDK (and any client that stringifies `{type, data}`) writes it:
 *
 *   {"type":"call:ice","data":{"callId":"…","candidate":{"candidate":"…","sdpMid":"0",…}}}
 *
 * Such a frame is read here without JSON.parse: one native scan of its characters (printable
 * ASCII, no backslash) and one walk over its members, instead of a UTF-8 decode,
 * JSON.parse, the bounds walk, two schemas and the literal scan (json.ts). It accepts only
 * what it can read without doubt and what the general path accepts as the same command: no
 * whitespace, the frame's members in the order above (the candidate's own in any order),
 * strings of printable ASCII with no escape (so their bytes are their characters), only
 * RTCIceCandidateInit's members, each once, within the schema's bounds. Anything else (a
 * requestId, another order, an escape, a duplicate, an unknown member, a number written
 * another way) is left to the general path, which accepts or refuses it as before.
 * native-ice.test.ts checks that the two agree on every frame.
 */

const PREFIX = '{"type":"call:ice","data":{"callId":"';
/** Where `ice"` is in PREFIX: a look at these bytes passes over other frames at no cost. */
const ICE_AT = PREFIX.indexOf('ice"');
const CANDIDATE_MEMBER = '","candidate":';
const NULL = 'null';

/**
 * A character other than printable ASCII, or a backslash. With none, a string's characters are
 * its bytes, it ends at the next quote, nothing is escaped, and it holds no control character
 * (which JSON refuses unescaped, and an id may not hold). One native scan: a loop over the
 * characters in JavaScript costs about as much as JSON.parse.
 */
const NOT_PLAIN = /[^\x20-\x5b\x5d-\x7e]/;

const QUOTE = 0x22;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const I = 0x69;
const N = 0x6e;
const C = 0x63;
const S = 0x73;
const U = 0x75;
const ZERO = 0x30;
const NINE = 0x39;

/** sdpMLineIndex's largest value and its longest spelling. */
const MAX_LINE_INDEX = CandidateLimits.sdpMLineIndex;
const LINE_INDEX_DIGITS = String(MAX_LINE_INDEX).length;

/** RTCIceCandidateInit's members: their spelling with the colon, and what their value may be. */
interface Member {
  /** `"name":` */
  name: string;
  /** A string's longest length; 0 for sdpMLineIndex, a number. */
  maxLength: number;
}

const member = (key: keyof IceCandidate, maxLength: number): Member => ({
  name: `"${key}":`,
  maxLength,
});
const CANDIDATE = member('candidate', CandidateLimits.candidate);
const SDP_MID = member('sdpMid', CandidateLimits.sdpMid);
const SDP_MLINE_INDEX = member('sdpMLineIndex', 0);
const USERNAME_FRAGMENT = member('usernameFragment', CandidateLimits.usernameFragment);

/**
 * The `call:ice` command of a native frame written as above, its candidate's literal kept
 * (`candidateJson`), or undefined when the frame is anything else.
 */
export function canonicalIce(frame: Buffer): IceCommand | undefined {
  if (frame.length <= PREFIX.length || frame[ICE_AT] !== I || frame[ICE_AT + 1] !== C) {
    return undefined;
  }
  // One character per byte: the indexes below are byte offsets.
  const text = frame.toString('latin1');
  if (!text.startsWith(PREFIX) || NOT_PLAIN.test(text)) return undefined;
  const idEnd = stringEnd(text, PREFIX.length, ID_MAX_LENGTH);
  if (idEnd <= PREFIX.length || !text.startsWith(CANDIDATE_MEMBER, idEnd)) return undefined;
  const call = { callId: text.slice(PREFIX.length, idEnd) };
  const at = idEnd + CANDIDATE_MEMBER.length;
  if (isNull(text, at)) {
    return ends(text, at + NULL.length) ? { type: 'call:ice', call, candidate: null } : undefined;
  }
  const members = new CandidateMembers();
  const end = readCandidate(text, at, members);
  if (end < 0 || !ends(text, end)) return undefined;
  return {
    type: 'call:ice',
    call,
    candidate: members.init(),
    [candidateJson]: frame.subarray(at, end),
  };
}

/** Whether the frame ends at `i` with the `}}` that close `data` and the frame. */
function ends(text: string, i: number): boolean {
  return (
    text.length === i + 2 &&
    text.charCodeAt(i) === CLOSE_BRACE &&
    text.charCodeAt(i + 1) === CLOSE_BRACE
  );
}

/** Whether `null` starts at `i` (its first letter looked at before the call to compare). */
function isNull(text: string, i: number): boolean {
  return text.charCodeAt(i) === N && text.startsWith(NULL, i);
}

/** A candidate's members as read (undefined: not written), in one shape whatever their order. */
class CandidateMembers {
  candidate: string | undefined = undefined;
  sdpMid: string | null | undefined = undefined;
  sdpMLineIndex: number | null | undefined = undefined;
  usernameFragment: string | null | undefined = undefined;

  /** Whether `m` was read already (a repeated member is left to the general path). */
  has(m: Member): boolean {
    if (m === CANDIDATE) return this.candidate !== undefined;
    if (m === SDP_MID) return this.sdpMid !== undefined;
    if (m === SDP_MLINE_INDEX) return this.sdpMLineIndex !== undefined;
    return this.usernameFragment !== undefined;
  }

  /** A string member's value (sdpMLineIndex, a number, is read by `readIndex`). */
  setString(m: Member, value: string): void {
    if (m === CANDIDATE) this.candidate = value;
    else if (m === SDP_MID) this.sdpMid = value;
    else this.usernameFragment = value;
  }

  /** A member written as null (the candidate string never is). */
  setNull(m: Member): void {
    if (m === SDP_MID) this.sdpMid = null;
    else if (m === SDP_MLINE_INDEX) this.sdpMLineIndex = null;
    else this.usernameFragment = null;
  }

  /**
   * The candidate: the members that were written and no other, as JSON.parse gives them (in
   * RTCIceCandidateInit's order, which is how browsers write them).
   */
  init(): IceCandidate {
    const { candidate = '', sdpMid, sdpMLineIndex, usernameFragment } = this;
    if (sdpMid !== undefined && sdpMLineIndex !== undefined && usernameFragment !== undefined) {
      return { candidate, sdpMid, sdpMLineIndex, usernameFragment };
    }
    const init: IceCandidate = { candidate };
    if (sdpMid !== undefined) init.sdpMid = sdpMid;
    if (sdpMLineIndex !== undefined) init.sdpMLineIndex = sdpMLineIndex;
    if (usernameFragment !== undefined) init.usernameFragment = usernameFragment;
    return init;
  }
}

/**
 * Reads the candidate object starting at `at` into `out`; returns the index one past its `}`,
 * or -1 when it is not one this pass accepts.
 */
function readCandidate(text: string, at: number, out: CandidateMembers): number {
  if (text.charCodeAt(at) !== OPEN_BRACE) return -1;
  let i = at + 1;
  for (;;) {
    const m = memberAt(text, i);
    if (m === undefined || out.has(m)) return -1;
    i += m.name.length;
    if (isNull(text, i)) {
      if (m === CANDIDATE) return -1;
      out.setNull(m);
      i += NULL.length;
    } else if (m === SDP_MLINE_INDEX) {
      i = readIndex(text, i, out);
      if (i < 0) return -1;
    } else {
      if (text.charCodeAt(i) !== QUOTE) return -1;
      const close = stringEnd(text, i + 1, m.maxLength);
      if (close < 0) return -1;
      out.setString(m, text.slice(i + 1, close));
      i = close + 1;
    }
    const next = text.charCodeAt(i);
    if (next === CLOSE_BRACE) return out.candidate === undefined ? -1 : i + 1;
    if (next !== COMMA) return -1;
    i++;
  }
}

/** The member whose `"name":` starts at `i`, if it is one of RTCIceCandidateInit's. */
function memberAt(text: string, i: number): Member | undefined {
  let m: Member;
  switch (text.charCodeAt(i + 1)) {
    case C:
      m = CANDIDATE;
      break;
    case U:
      m = USERNAME_FRAGMENT;
      break;
    case S: // sdpMid or sdpMLineIndex, told apart by their fifth letter
      m = text.charCodeAt(i + 5) === I ? SDP_MID : SDP_MLINE_INDEX;
      break;
    default:
      return undefined;
  }
  return text.startsWith(m.name, i) ? m : undefined;
}

/**
 * The index of the quote that closes the string whose characters start at `from`, if it has at
 * most `max` of them; else -1. (The frame has no escape: its first quote closes it.)
 */
function stringEnd(text: string, from: number, max: number): number {
  const close = text.indexOf('"', from);
  return close - from > max ? -1 : close;
}

/**
 * Reads the sdpMLineIndex starting at `from` into `out` when it is written as JSON.stringify
 * writes an integer from 0 to MAX_LINE_INDEX (no sign, no leading zero): returns one past its
 * digits, else -1.
 */
function readIndex(text: string, from: number, out: CandidateMembers): number {
  let i = from;
  let value = 0;
  for (; i < text.length && i - from <= LINE_INDEX_DIGITS; i++) {
    const c = text.charCodeAt(i);
    if (c < ZERO || c > NINE) break;
    value = value * 10 + (c - ZERO);
  }
  const digits = i - from;
  if (digits === 0 || digits > LINE_INDEX_DIGITS || value > MAX_LINE_INDEX) return -1;
  if (digits > 1 && text.charCodeAt(from) === ZERO) return -1;
  out.sdpMLineIndex = value;
  return i;
}
