import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Config } from '../config/index.ts';

/** Where `npm run build:web` puts the demo in this checkout. */
const BUILT_DEMO = fileURLToPath(new URL('../../../demo/dist/', import.meta.url));

/**
 * The demo web app at `/`: static files from `web.dir` (default: the checkout's built demo), if
 * it exists when the server starts. Otherwise `/` says how to build it.
 */
export function webRoutes(web: Config['web']): Hono {
  const root = web.dir ?? BUILT_DEMO;
  const app = new Hono();
  if (existsSync(root)) {
    app.use('*', async (c, next) => {
      await next();
      // The bundle's file names do not change between builds: always revalidate.
      c.header('cache-control', 'no-cache');
    });
    app.get('/*', serveStatic({ root, index: 'index.html' }));
  }
  app.get('/', (c) =>
    c.text(
      `the demo is not built in ${root}: run \`npm run build:web\` (or set PARLEY_WEB_DIR)`,
      404,
    ),
  );
  return app;
}
