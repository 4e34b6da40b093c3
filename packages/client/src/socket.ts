/**
 * The one thing the SDK needs from a WebSocket. Browsers' WebSocket fits it as it is; tests plug
 * in a fake signaling server (test/fake-server.ts) through the same interface.
 */
export interface SignalingSocket {
  send(text: string): void;
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: (() => void) | null;
}

/** Opens a socket to a URL. */
export type SocketFactory = (url: string) => SignalingSocket;

/** The browser's WebSocket. */
export const browserSocket: SocketFactory = (url) => {
  const ws = new WebSocket(url);
  const socket: SignalingSocket = {
    send: (text) => ws.send(text),
    close: (code, reason) => ws.close(code, reason),
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
  };
  ws.onopen = () => socket.onopen?.();
  ws.onmessage = (e) => socket.onmessage?.(e);
  ws.onclose = (e) => socket.onclose?.(e);
  ws.onerror = () => socket.onerror?.();
  return socket;
};
