import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

/** A raw TCP client: what the server wrote, and whether it closed the connection. */
export interface RawClient {
  socket: Socket;
  /** Everything received so far, as text. */
  text(): string;
  /** Resolves with the text once it matches `pattern`; rejects after `timeoutMs`. */
  until(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the server closed the connection; rejects after `timeoutMs`. */
  closed(timeoutMs?: number): Promise<void>;
}

/** Opens a TCP connection to `port` on loopback and writes `data` (when given). */
export async function rawClient(port: number, data?: string): Promise<RawClient> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  let received = '';
  let ended = false;
  const watchers = new Set<() => void>();
  const notify = () => watchers.forEach((w) => w());
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    notify();
  });
  socket.on('close', () => {
    ended = true;
    notify();
  });
  const wait = (done: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (done()) return resolve();
      const timer = setTimeout(() => {
        watchers.delete(check);
        reject(new Error(`${what} within ${timeoutMs} ms; got ${JSON.stringify(received)}`));
      }, timeoutMs);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        watchers.delete(check);
        resolve();
      };
      watchers.add(check);
    });
  if (data !== undefined) socket.write(data);
  return {
    socket,
    text: () => received,
    async until(pattern, timeoutMs = 3000) {
      await wait(() => pattern.test(received), `no ${String(pattern)}`, timeoutMs);
      return received;
    },
    closed: (timeoutMs = 3000) => wait(() => ended, 'not closed by the server', timeoutMs),
  };
}

/** An HTTP/1.1 upgrade request to WebSocket at `path`. */
export function upgradeRequest(path: string): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
  );
}

/** File descriptors this process holds (Linux). */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Polls `cond` every 20 ms until it holds; rejects with `what` after `timeoutMs`. */
export async function eventually(
  cond: () => boolean | Promise<boolean>,
  what: () => string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
