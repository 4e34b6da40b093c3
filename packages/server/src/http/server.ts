import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../config/index.ts';

const FULL_BODY = 'server at its connection limit\n';
const FULL = `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Type: text/plain\r\nContent-Length: ${FULL_BODY.length}\r\n\r\n${FULL_BODY}`;

/**
 * The node's HTTP server, with a bound on everything a socket can hold before it is a
 * WebSocket: headers, the whole request and idle keep-alive time out (node checks them every
 * `connectionsCheckingInterval`, 30 s by default, which is too coarse for short timeouts), and
 * a connection beyond `maxConnections` gets 503 and is closed at once.
 */
export function createHttpServer(limits: Config['connections'], listener: RequestListener): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    listener,
  );
  let open = 0;
  // One listener for every socket, not a closure each.
  const closed = () => open--;
  // Ahead of the HTTP parser's own listener: a refused socket is answered before it is read.
  server.prependListener('connection', (socket: Socket) => {
    if (open >= limits.maxConnections) {
      socket.once('finish', () => socket.destroy());
      socket.once('error', () => socket.destroy());
      socket.end(FULL);
      return;
    }
    open++;
    socket.on('close', closed);
  });
  return server;
}
