import { decodeChatMessage } from '../../src/gateway/dialects/chat-protobuf.ts';
import { LEARNED, type FuzzDialect, type LearnedKey } from './world.ts';

/**
 * What the fuzzer reads in a server frame, whatever the dialect: the request ids it answers
 * and its error code, if it is an error. Each dialect's error shape is mapped here.
 */
export interface Answer {
  /** Request ids this frame answers (or carries, for a forwarded ROOM signal). */
  ids: string[];
  /** The error code as the dialect says it (`bad_request`, `400`, `40001`, ...), if an error. */
  error?: string;
  /** Whether that error is the dialect's "internal" (never allowed). */
  internal: boolean;
  /** Ids of server objects the frame names (a new transport, a call ...), for later frames. */
  learned?: Array<[LearnedKey, string]>;
}

const NONE: Answer = { ids: [], internal: false };

/** The LEARNED ids among `data`'s own fields. */
function learn(data: unknown): Array<[LearnedKey, string]> {
  if (!isObj(data)) return [];
  return LEARNED.flatMap((k) =>
    typeof data[k] === 'string' ? [[k, data[k]] as [LearnedKey, string]] : [],
  );
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;
const idOf = (v: unknown): string[] => (typeof v === 'string' ? [v] : []);

/** The meeting dialect's `rtc:error` (on /ws/meeting, /ws and socket.io); 50001 is internal. */
function rtcError(f: Obj, ids: string[]): Answer {
  const code = String(f.code);
  return { ids, error: code, internal: code === '50001' };
}

/** A JSON frame of a native, ROOM or meeting connection. */
function readJson(dialect: FuzzDialect, f: Obj): Answer {
  const ids = idOf(f.requestId);
  switch (dialect) {
    case 'native': {
      if (f.type === 'rtc:error') return rtcError(f, ids);
      if (f.type === 'error' && isObj(f.error)) {
        const code = String(f.error.code);
        return { ids, error: code, internal: code === 'internal' };
      }
      // A forwarded room:signal carries the sender's requestId in data.
      if (f.type === 'room:signal' && isObj(f.data)) ids.push(...idOf(f.data.requestId));
      return { ids, internal: false, learned: learn(f.data) };
    }
    case 'meeting':
      return f.type === 'rtc:error'
        ? rtcError(f, ids)
        : { ids, internal: false, learned: learn(f.data) };
    case 'room': {
      if (f.code === 200) return { ids, internal: false };
      // 500 is also "shutting down" (unavailable); only the internal error's message is a bug.
      return { ids, error: String(f.code), internal: f.msg === '服务器内部错误' };
    }
    case 'video_call': {
      const d = isObj(f.data) ? f.data : {};
      if (d.type !== 'error')
        return { ids: [], internal: false, learned: learn({ callId: d.call_id }) };
      const code = String(d.code);
      return { ids: [], error: code, internal: code === 'internal' };
    }
    default:
      return NONE;
  }
}

/** Reads a text frame of a WebSocket connection. */
export function readText(dialect: FuzzDialect, text: string): Answer {
  const f = JSON.parse(text) as unknown;
  return isObj(f) ? readJson(dialect, f) : NONE;
}

/** Reads a binary frame of a chat-protobuf connection: errors are contentType 6 `error`. */
export function readChat(bytes: Buffer): Answer {
  const m = decodeChatMessage(bytes);
  if (m.contentType !== 6) return NONE;
  const content = JSON.parse(m.content) as Obj;
  if (m.type !== 'error') return { ids: [], internal: false, learned: learn(content) };
  const code = String(content.code);
  return { ids: [], error: code, internal: code === 'internal' };
}

/** Reads a socket.io event or ack argument (the meeting dialect's shapes). */
export function readSocketIo(type: string, data: unknown): Answer {
  if (!isObj(data)) return NONE;
  if (type === 'rtc:error' || data.type === 'rtc:error') return rtcError(data, []);
  // An ack is the whole response ({type, data}); an event's argument is its data.
  return { ids: [], internal: false, learned: learn(type === '' ? data.data : data) };
}

/** Reads a REST response: a 500 or `error: "internal"` is internal. */
export function readRest(status: number, body: unknown): Answer {
  const code = isObj(body) && typeof body.error === 'string' ? body.error : undefined;
  const error = status >= 400 ? (code ?? String(status)) : undefined;
  return {
    ids: [],
    ...(error === undefined ? {} : { error }),
    internal: status === 500 || code === 'internal',
  };
}
