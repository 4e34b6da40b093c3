import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Bundles the demo and the SDK with esbuild into a static directory the server serves at `/`
 * (`packages/demo/dist` by default; not committed). Run by `npm start` and `npm run build:web`;
 * the browser tests build their own copy.
 */

const SRC = fileURLToPath(new URL('./src/', import.meta.url));
/** Where the server looks for the demo by default (PARLEY_WEB_DIR overrides it). */
export const DIST = fileURLToPath(new URL('./dist/', import.meta.url));

/** Builds the demo into `outDir`; extra entry points (test pages) go beside it. */
export async function buildDemo(outDir = DIST, extraEntries: Record<string, string> = {}) {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: { app: join(SRC, 'main.ts'), ...extraEntries },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'styles.css']) copyFileSync(join(SRC, f), join(outDir, f));
  return outDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildDemo(process.argv[2] ?? DIST);
  process.stdout.write(`parley: demo built into ${out}\n`);
}
