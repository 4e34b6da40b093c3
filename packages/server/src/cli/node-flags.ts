/**
 * The V8 flags Parley's server runs with (GC traces of `parley bench` behind each; README,
 * "A young generation that stays 64 MB").
 *
 * - `--max-semi-space-size=64`: relaying allocates a few hundred MB/s of objects that die
 *   within a message (frames, parsed JSON, events); a 64 MB semi-space instead of Node's 16 MB
 *   scavenges a quarter as often and promotes less of that churn, which cut the CPU per relayed
 *   message by about a tenth.
 * - `--min-semi-space-size=64`: otherwise V8 starts the young generation at 1 MB and shrinks it
 *   back there after a quiet spell (its memory reducer); under relaying's short-lived churn it
 *   then took ~30 s of load to grow again, scavenging 17–20 times a second meanwhile.
 * - `--incremental-marking-soft-trigger=50`, `--incremental-marking-hard-trigger=90`: by
 *   default V8 starts marking the old generation as soon as the room left under its limit is
 *   less than the young generation's size. With a 64 MB young generation and ~35 MB live, that
 *   room is often less right after a mark-compact, so it marked after nearly every scavenge
 *   (a mark-compact every 2–8 s at load); with these, marking starts when half the room since
 *   the last mark-compact is used (at once past 90%), whatever the young generation's size.
 * - `--no-memory-reducer`: V8's memory reducer, made for browser tabs, runs a memory-reducing
 *   mark-compact once allocation drops (a server between bursts of calls). That GC gives the
 *   young generation's idle half (64 MB) back to the OS, and the next bursts then fault every
 *   page of it in again: in `parley bench` it took the committed heap from 183 to 117 MB, and
 *   the trial after it had ~8,000 page faults and 259 ms of messages late by up to 79 ms, where
 *   a trial without one (past the first of its connections) had fewer than 50 faults. A server
 *   keeps its heap through quiet spells instead; ordinary GCs still collect what is garbage.
 *
 * The cost: the young generation takes up to 128 MB (two 64 MB halves, against Node's 32 MB)
 * and keeps it when idle, as the old generation keeps its size until an ordinary GC. The bin's
 * shebang (169 bytes: Linux reads 255 since 5.1) and `npm start` pass the same flags (a test
 * checks). Node accepts none but the first in NODE_OPTIONS, so other launchers pass them on
 * node's command line.
 */
export const NODE_FLAGS = [
  '--max-semi-space-size=64',
  '--min-semi-space-size=64',
  '--incremental-marking-soft-trigger=50',
  '--incremental-marking-hard-trigger=90',
  '--no-memory-reducer',
] as const;
