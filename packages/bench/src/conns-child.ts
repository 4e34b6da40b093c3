import { openAll, type BenchSocket } from './sockets.ts';

/**
 * The clients of `parley bench-conns`, in a process of their own so that their memory is not
 * counted as the server's: `{ open: urls }` opens them (answered `{ opened }`), `{ close: true }`
 * closes them (answered `{ closed }`). Exits when the parent goes.
 */
let sockets: BenchSocket[] = [];

process.on('message', (m: { open?: string[]; close?: true }) => {
  if (m.open) {
    openAll(m.open).then(
      (s) => {
        sockets = s;
        process.send?.({ opened: s.length });
      },
      (err: unknown) => process.send?.({ error: String(err) }),
    );
  } else if (m.close) {
    for (const s of sockets) s.close();
    sockets = [];
    process.send?.({ closed: true });
  }
});

process.on('disconnect', () => process.exit(0));
