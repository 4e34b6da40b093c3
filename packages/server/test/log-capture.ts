/** One line the server logged, parsed. */
export type LogLine = Record<string, unknown>;

/**
 * The server's log stream captured line by line (a pino destination: pass it to
 * `createLogger`), so that a test can wait for a line as the server wrote it.
 */
export class LogCapture {
  readonly lines: LogLine[] = [];
  private waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];

  write(chunk: string): void {
    for (const text of chunk.split('\n')) {
      if (text === '') continue;
      const line = JSON.parse(text) as LogLine;
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => !(w.match(line) && (w.resolve(line), true)));
    }
  }

  /** The first line matching `match`, logged already or within `timeoutMs`. */
  next(match: (l: LogLine) => boolean, timeoutMs = 3000): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no such log line')), timeoutMs);
      this.waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  }
}
