import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** RFC 6455 §1.3: appended to the client's key to prove the server read the handshake. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A key is 16 random bytes in base64 (§4.1). */
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** A subprotocol is an HTTP token (RFC 7230 §3.2.6). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The answer to an upgrade request: the 101 to write, or the HTTP error to refuse it with. */
export type Handshake =
  { ok: true; response: string } | { ok: false; status: number; text: string; headers?: string };

const refused = (status: number, text: string, headers?: string): Handshake =>
  headers === undefined ? { ok: false, status, text } : { ok: false, status, text, headers };

/**
 * Checks a WebSocket opening handshake (RFC 6455 §4.2.1) and makes the server's answer
 * (§4.2.2). Extensions are declined (no permessage-deflate: the relay's frames are small and
 * compressing each would cost more than it saves). A client that offers subprotocols gets the
 * first, as `ws` answered before: a browser fails a connection whose offer goes unanswered.
 */
export function acceptHandshake(req: IncomingMessage): Handshake {
  if (req.method !== 'GET') return refused(405, 'Method Not Allowed');
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') return refused(400, 'Bad Request');
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key)) return refused(400, 'Bad Request');
  if (req.headers['sec-websocket-version'] !== '13') {
    return refused(426, 'Upgrade Required', 'Sec-WebSocket-Version: 13\r\n');
  }
  let protocol = '';
  const offered = req.headers['sec-websocket-protocol'];
  if (offered !== undefined) {
    const names = offered.split(',').map((name) => name.trim());
    if (!names.every((name) => TOKEN.test(name))) return refused(400, 'Bad Request');
    protocol = `Sec-WebSocket-Protocol: ${names[0]}\r\n`;
  }
  const accept = createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  return {
    ok: true,
    response:
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n${protocol}\r\n`,
  };
}
