#!/usr/bin/env -S node --max-semi-space-size=64 --min-semi-space-size=64 --incremental-marking-soft-trigger=50 --incremental-marking-hard-trigger=90 --no-memory-reducer
// Runs the built JavaScript (dist/, from `npm run build`, which `npm start` runs first). The
// tests (NODE_ENV=test), NODE_ENV=development and a checkout never built run the TypeScript
// sources through tsx instead (a dev dependency), so that they never run a stale build.
import { existsSync } from 'node:fs';

// The benchmarks are development tools (their child processes are TypeScript): they, and the
// servers they start with this bin, run from the sources.
if (process.argv[2]?.startsWith('bench')) process.env.NODE_ENV ??= 'development';

const built = new URL('../dist/cli/main.js', import.meta.url);
const mode = process.env.NODE_ENV;
if (existsSync(built) && mode !== 'test' && mode !== 'development') {
  await import(built.href);
} else {
  const tsx = await import('tsx/esm/api').catch(() => null);
  if (!tsx) {
    process.stderr.write(
      'parley: no build in dist/ and no tsx to run the sources: npm run build\n',
    );
    process.exit(1);
  }
  tsx.register();
  await import('../src/cli/main.ts');
}
