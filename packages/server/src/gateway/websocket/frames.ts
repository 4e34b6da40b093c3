const FIN = 0x80;

/** Frame opcodes (RFC 6455 §5.2). */
export const Op = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/**
 * A server's WebSocket data frame (RFC 6455 §5.2: final, unmasked, no extension bits; the
 * server declines permessage-deflate), header and payload in one buffer: one allocation and
 * one copy, and a lone frame goes out as a single `write`. The relay sends one such frame per
 * message, so this is on its hot path.
 */
export function wsFrame(data: string | Uint8Array, binary: boolean): Buffer {
  const text = typeof data === 'string';
  const length = text ? Buffer.byteLength(data) : data.length;
  const head = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + length);
  out[0] = FIN | (binary ? Op.Binary : Op.Text);
  if (length < 126) {
    out[1] = length;
  } else if (length < 0x10000) {
    out[1] = 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
    out.writeUInt32BE(length >>> 0, 6);
  }
  if (text) out.write(data, head, length, 'utf8');
  else out.set(data, head);
  return out;
}

/** A control frame: at most 125 bytes of payload (RFC 6455 §5.5). */
function controlFrame(op: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(2 + payload.length);
  out[0] = FIN | op;
  out[1] = payload.length;
  out.set(payload, 2);
  return out;
}

const EMPTY = new Uint8Array(0);

/** The server's ping (empty: the heartbeat only needs the pong). */
export const PING_FRAME: Buffer = controlFrame(Op.Ping, EMPTY);

/** The pong answering a ping, with the ping's payload. */
export function pongFrame(payload: Uint8Array): Buffer {
  return controlFrame(Op.Pong, payload);
}

/**
 * A close frame: the code (none for 1005, "no status", which is never sent) and the reason,
 * cut to the 123 bytes a control frame leaves for it, at a character boundary.
 */
export function closeFrame(code: number, reason = ''): Buffer {
  if (code === 1005) return controlFrame(Op.Close, EMPTY);
  let text = Buffer.from(reason);
  if (text.length > 123) {
    let end = 123;
    // Back over UTF-8 continuation bytes (10xxxxxx) to the start of the cut character.
    while (end > 0 && (text[end]! & 0xc0) === 0x80) end--;
    text = text.subarray(0, end);
  }
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  payload.set(text, 2);
  return controlFrame(Op.Close, payload);
}
