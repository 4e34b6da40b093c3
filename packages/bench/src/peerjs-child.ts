import { PeerServer } from 'peer';

/**
 * The PeerJS server as its users run it: `PeerServer` with default options (key `peerjs`,
 * path `/`, so clients connect to `/peerjs?key=peerjs&id=…&token=…`). Started by the bench in
 * its own process; tells the parent over IPC when it listens and exits when the parent goes.
 */
const port = Number(process.env.PEERJS_PORT);
const limit = Number(process.env.PEERJS_LIMIT ?? 5000);

PeerServer({ port, host: '127.0.0.1', path: '/', key: 'peerjs', concurrent_limit: limit }, () =>
  process.send?.({ ready: port }),
);

process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
