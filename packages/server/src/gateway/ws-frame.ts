import type { WireFrame } from './dialect.ts';

const FIN = 0x80;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;

/**
 * A server's WebSocket data frame (RFC 6455 §5.2: final, unmasked, no extension bits; the
 * server declines permessage-deflate), header and payload in one buffer. The gateway writes it
 * to the socket itself instead of through `ws.send`, which writes a separate header and payload
 * (a `writev` of two buffers) and allocates both per frame; the relay sends one such frame per
 * message, so this is on its hot path.
 */
export function wsFrame(data: WireFrame, binary: boolean): Buffer {
  const text = typeof data === 'string';
  const length = text ? Buffer.byteLength(data) : data.length;
  const head = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + length);
  out[0] = FIN | (binary ? OP_BINARY : OP_TEXT);
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
