import { PeerServer } from 'peer';

/**
 * The PeerJS server as its users run it: `PeerServer` with default options (key `peerjs`,
 * path `/`, so clients connect to `/peerjs?key=peerjs&id=…&token=…`), by plain `node`. Started
 * by the bench in its own process; tells the parent over IPC when it listens and exits when the
 * parent goes.
 *
 * JavaScript rather than TypeScript so that Node runs it without tsx: tsx's module-loader hooks
 * run on a thread with a V8 isolate of its own, whose GC (its memory reducer, idle between
 * trials) would be charged to PeerJS's CPU and pause it on its one pinned core, as it once did
 * to Parley's (see buildParley in children.ts).
 */
const port = Number(process.env.PEERJS_PORT);
const limit = Number(process.env.PEERJS_LIMIT ?? 5000);

PeerServer({ port, host: '127.0.0.1', path: '/', key: 'peerjs', concurrent_limit: limit }, () =>
  process.send?.({ ready: port }),
);

process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
