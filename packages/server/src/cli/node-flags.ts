/**
 * The V8 flags Parley's server runs with. Relaying allocates a few hundred MB/s of objects that
 * die within a message (frames, parsed JSON, events); a 64 MB semi-space instead of Node's
 * 16 MB scavenges a quarter as often and promotes less of that churn to the old generation,
 * which cut the CPU per relayed message by about a tenth in `parley bench`. It costs up to
 * ~100 MB more memory. The bin's shebang and `npm start` pass the same flags (a test checks);
 * other launchers can set them in NODE_OPTIONS.
 */
export const NODE_FLAGS = ['--max-semi-space-size=64'] as const;
