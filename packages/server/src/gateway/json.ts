import {
  AppError,
  SAFE_TEXT_PATTERN,
  candidateJson,
  sdpJson,
  type Command,
} from '@parley/protocol';
import type { TSchema, Static } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';

/**
 * Parses a JSON text frame once. The caller bounds the value (`assertBoundedValue`) as soon as
 * it has read what its error needs (the requestId): every opaque value in a frame (appData, a
 * relayed payload, fields a schema lets through) may be echoed later, so it is refused at
 * decode time, before any state changes.
 */
export function parseJson(data: Buffer, isBinary: boolean): unknown {
  return parseText(jsonText(data, isBinary));
}

/** A text frame's JSON text: its one UTF-8 decode, which the literal scans may reuse. */
export function jsonText(data: Buffer, isBinary: boolean): string {
  if (isBinary) throw AppError.badRequest('binary frames are not accepted on this endpoint');
  return data.toString('utf8');
}

/** `parseJson` of a frame's text (`jsonText`). */
export function parseText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw AppError.badRequest('frame is not valid JSON');
  }
}

/**
 * A schema error said plainly: TypeBox would quote the id pattern itself. Only the pattern's own
 * failure is said so; an id that is too long is told its length.
 */
export function failureMessage(error: ValueError | undefined): string {
  if (!error) return 'invalid';
  return error.type === ValueErrorType.StringPattern && error.schema.pattern === SAFE_TEXT_PATTERN
    ? 'control characters are not allowed'
    : error.message;
}

/** A compiled validator that throws a bad_request naming the first offending field. */
export function validator<T extends TSchema>(schema: T): (value: unknown) => Static<T> {
  const check: TypeCheck<T> = TypeCompiler.Compile(schema);
  return (value) => {
    if (check.Check(value)) return value;
    const first = check.Errors(value).First();
    const path = first?.path || '/';
    throw AppError.badRequest(`invalid field ${path}: ${failureMessage(first)}`, {
      field: path,
    });
  };
}

/** Binds a schema to a builder: validate once, then map the value to a canonical shape. */
export function decoder<T extends TSchema, R>(
  schema: T,
  build: (value: Static<T>) => R,
): (value: unknown) => R {
  const check = validator(schema);
  return (value) => build(check(value));
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const UNICODE_ESCAPE = '\\u';
const SDP_NAME = '"sdp"';
const CANDIDATE_NAME = '"candidate"';
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/*
 * The literal scans below read a frame as latin1, one character per byte: its indexes are the
 * frame's byte offsets, and a string's indexOf costs less than a call into Buffer's.
 */

/**
 * The frame as latin1: `utf8`, its UTF-8 text, when that has a character per byte (an ASCII
 * frame, the usual case: not decoded twice), else decoded again. Equal lengths mean every byte
 * became one character at its own index: a multi-byte sequence makes fewer characters than
 * bytes, and each byte that is not UTF-8 one U+FFFD. The scans look for ASCII only, which both
 * readings keep where it is.
 */
function byteText(frame: Buffer, utf8: string | undefined): string {
  return utf8 !== undefined && utf8.length === frame.length ? utf8 : frame.toString('latin1');
}

/** Whether the character at `i` follows an odd run of backslashes, i.e. is escaped. */
function escapedAt(text: string, i: number): boolean {
  let j = i - 1;
  while (j >= 0 && text.charCodeAt(j) === BACKSLASH) j--;
  return ((i - 1 - j) & 1) === 1;
}

/** The closing quote of the JSON string whose opening quote is at `open`, or -1. */
function stringEnd(text: string, open: number): number {
  let end = text.indexOf('"', open + 1);
  while (end > 0 && escapedAt(text, end)) end = text.indexOf('"', end + 1);
  return end;
}

/**
 * The `sdp` string of a frame that JSON.parse accepted and that holds exactly one `sdp` member,
 * as its literal bytes (quotes included; a view, not a copy), or undefined when a cheap scan
 * cannot be sure which literal that is.
 *
 * Why the scan is sound: a member named `sdp` appears as the bytes `"sdp"` unless its name is
 * written with a `\u` escape. When those bytes occur once and are followed by `:"`, a string
 * value starts there (bare `sdp` outside a string is not JSON) and, the frame being valid JSON,
 * ends at the next quote that is not escaped. No `\u` outside that literal means no member
 * name is spelled with one (inside it, `\u` is SDP text), so that occurrence is the member the
 * parser read; a duplicate, a nested `sdp` or a string value "sdp" would occur too, and we give
 * up, as we do for anything else such as whitespace after the colon.
 */
export function sdpLiteral(frame: Buffer, utf8?: string): Buffer | undefined {
  const text = byteText(frame, utf8);
  const at = text.indexOf(SDP_NAME);
  if (at < 0 || text.indexOf(SDP_NAME, at + 1) >= 0) return undefined;
  const start = at + SDP_NAME.length + 1;
  if (text.charCodeAt(start - 1) !== COLON || text.charCodeAt(start) !== QUOTE) return undefined;
  const end = stringEnd(text, start);
  if (end < 0) return undefined;
  const unicodeOutside =
    text.lastIndexOf(UNICODE_ESCAPE, start) >= 0 || text.indexOf(UNICODE_ESCAPE, end) >= 0;
  return unicodeOutside ? undefined : frame.subarray(start, end + 1);
}

/** Where the JSON object value starting at `start` ends (one past its `}`), or -1. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // A string, skipped whole: its quotes are the only ones that are not escaped.
      const end = stringEnd(text, i);
      if (end < 0) return -1;
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
    } else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) {
      return i + 1;
    }
  }
  return -1;
}

/**
 * The `candidate` object of an ICE frame that JSON.parse accepted and validated (`data.candidate`
 * an object with a string member `candidate`, not null), as its literal bytes (a view), or
 * undefined when a cheap scan cannot be sure which literal that is.
 *
 * Why the scan is sound: with no `\u` in the frame, every member name is spelled as its bytes.
 * An unescaped `"candidate"` followed by a colon (after any whitespace) is a member name: inside
 * a string a quote is escaped, a string's closing quote is never followed by a letter, and only
 * a member name is followed by a colon. The frame holds at least two such names, the member of
 * `data` and the one inside its value; when it holds exactly two, they are those, the outer
 * first. Anything else (a duplicate, an extra member that holds a `candidate`) gives up, and
 * the candidate is stringified as before.
 */
export function candidateLiteral(frame: Buffer, utf8?: string): Buffer | undefined {
  const text = byteText(frame, utf8);
  if (text.includes(UNICODE_ESCAPE)) return undefined;
  const outer = memberValue(text, 0);
  if (outer < 0) return undefined;
  const inner = memberValue(text, outer);
  if (inner < 0 || memberValue(text, inner) >= 0) return undefined;
  if (text.charCodeAt(outer) !== OPEN_BRACE) return undefined;
  const end = objectEnd(text, outer);
  return end > inner ? frame.subarray(outer, end) : undefined;
}

/**
 * Where the value of the next member named `candidate` at or after `from` starts, or -1: an
 * occurrence counts if its opening quote is not escaped and a colon follows it.
 */
function memberValue(text: string, from: number): number {
  for (let at = text.indexOf(CANDIDATE_NAME, from); at >= 0;) {
    if (!escapedAt(text, at)) {
      const i = skipSpace(text, at + CANDIDATE_NAME.length);
      if (text.charCodeAt(i) === COLON) return skipSpace(text, i + 1);
    }
    at = text.indexOf(CANDIDATE_NAME, at + 1);
  }
  return -1;
}

/** The first index at or after `i` that is not JSON whitespace. */
function skipSpace(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

/**
 * Keeps the literal an encoder can copy instead of stringifying again: an offer's or answer's
 * SDP (see `sdpJson`), an ICE command's candidate object (see `candidateJson`). `utf8`: the
 * frame's text as it was parsed (`jsonText`).
 */
export function keepLiterals(command: Command, frame: Buffer, utf8: string): void {
  if (command.type === 'call:offer' || command.type === 'call:answer') {
    command[sdpJson] = sdpLiteral(frame, utf8);
  } else if (command.type === 'call:ice' && command.candidate !== null) {
    command[candidateJson] = candidateLiteral(frame, utf8);
  }
}

/**
 * A JSON text frame: `head` (the JSON of an object whose last member is a non-empty object)
 * with the member `"key":<literal>` and then `more` (ASCII members, each after a comma) added
 * to the end of that inner object. The literal's bytes are copied, not escaped again.
 */
export function withLiteral(head: string, key: string, literal: Uint8Array, more = ''): Buffer {
  const headBytes = Buffer.byteLength(head) - 2; // without the two closing braces
  const member = `,"${key}":`;
  const rest = `${more}}}`;
  const out = Buffer.allocUnsafe(headBytes + member.length + literal.length + rest.length);
  let at = out.write(head, 0, headBytes, 'utf8');
  at += out.write(member, at, 'latin1');
  out.set(literal, at);
  out.write(rest, at + literal.length, 'latin1');
  return out;
}

/** How much of a frame refused unread is searched for the members that name its request. */
const SCAN_CHARS = 1024;
/** A `"name": "…"` member whose value is a JSON string literal of at most 128 characters. */
const MEMBER = /"([A-Za-z_]{1,32})"\s*:\s*("(?:[^"\\]|\\.){1,128}")/g;

/**
 * The first string value of each of `names` among the first members of a frame that was not
 * parsed (refused unread: too large, or not JSON), so that its error can still name the
 * request: the specs' frames put the requestId and type before `data`. Cheap: a bounded scan
 * of the frame's start, done only for a frame that is refused.
 */
export function peekMembers(data: Buffer, names: readonly string[]): Record<string, string> {
  const text = data.toString('utf8', 0, Math.min(data.length, SCAN_CHARS * 4)).slice(0, SCAN_CHARS);
  const found: Record<string, string> = {};
  for (const [, key, literal] of text.matchAll(MEMBER)) {
    if (key === undefined || literal === undefined || key in found || !names.includes(key)) {
      continue;
    }
    try {
      found[key] = JSON.parse(literal) as string;
    } catch {
      // A control character or an escape JSON does not know: this member cannot be read.
    }
  }
  return found;
}
