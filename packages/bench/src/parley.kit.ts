import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApp, loadConfig } from '@parley/server';

/**
 * Runs `fn` against a real Parley in this process (default configuration, a free port, a data
 * directory of its own), then closes it. In process, so its CPU is this process's.
 */
export async function withParley<T>(
  fn: (wsBase: string, mint: (userId: string) => Promise<string>) => Promise<T>,
): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-test-'));
  const config = loadConfig(
    { PARLEY_JWT_SECRET: 'bench-test-secret-0123456789abcdef' },
    { server: { port: 0 }, dataDir },
  );
  const app = await createApp(config, { log: pino({ level: 'silent' }) });
  try {
    const { port } = await app.listen();
    return await fn(`ws://127.0.0.1:${port}`, (userId) => app.auth.mint(userId));
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
