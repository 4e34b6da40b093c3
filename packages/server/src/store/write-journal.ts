import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Statement } from './sqlite-protocol.ts';

/**
 * One journaled write: the store kind it was compiled for, and the statement, or the
 * statements that commit together (`stmts`).
 */
type Entry = { kind: string } & (Statement | { stmts: Statement[] });

/** A journal line for one group of statements (a lone statement in the original form). */
const line = (kind: string, g: readonly Statement[]): string =>
  JSON.stringify(
    g.length === 1 ? { kind, sql: g[0]!.sql, params: g[0]!.params } : { kind, stmts: g },
  ) + '\n';

/**
 * An append-only file of the writes the store has not taken yet (`pending-writes.jsonl` in the
 * data dir), fsync'd, so that a node killed while its store is down loses none of them: the
 * next start replays it. Used only while the store refuses writes; while it takes them the file
 * does not exist. Appends are serialised and never block the event loop.
 */
export class WriteJournal {
  private chain: Promise<unknown> = Promise.resolve();
  private fh: FileHandle | null = null;
  /** Entries in the file (appended since it was last emptied or rewritten). */
  private entries = 0;
  /** The last write failed: it may have left part of a line, which the next one must end. */
  private torn = false;

  /**
   * `onTrouble` hears when writing the file starts failing (the error) and when it works again
   * (null); the writes are still kept in memory meanwhile.
   */
  constructor(
    readonly file: string,
    private readonly kind: string,
    private readonly onTrouble: (err: unknown) => void,
  ) {}

  /**
   * The journaled writes of an earlier run (for this store kind), oldest first: each a group
   * of statements that commit together.
   */
  async load(): Promise<Statement[][]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return [];
    }
    const out: Statement[][] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      let e: Entry;
      try {
        e = JSON.parse(line) as Entry;
      } catch {
        continue; // the last line of a run killed mid-append
      }
      if (e.kind !== this.kind) {
        throw new Error(
          `${this.file} holds ${e.kind} writes but the store is ${this.kind}: point DATABASE_URL back, or move the file away`,
        );
      }
      out.push('stmts' in e ? e.stmts : [{ sql: e.sql, params: e.params }]);
    }
    this.entries = out.length;
    return out;
  }

  /** Appends the groups of statements and syncs them to disk. */
  append(groups: readonly (readonly Statement[])[]): Promise<void> {
    if (groups.length === 0) return Promise.resolve();
    const text = groups.map((g) => line(this.kind, g)).join('');
    return this.serial(async () => {
      if (!this.fh) {
        await mkdir(dirname(this.file), { recursive: true });
        this.fh = await open(this.file, 'a');
      }
      await this.fh.appendFile(this.torn ? `\n${text}` : text);
      await this.fh.datasync();
      this.entries += groups.length;
    });
  }

  /** How many entries the file holds. */
  get size(): number {
    return this.entries;
  }

  /** Replaces the file's content with `groups` (to drop what the store has taken since). */
  rewrite(groups: readonly (readonly Statement[])[]): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const text = groups.map((g) => line(this.kind, g)).join('');
    return this.serial(async () => {
      await this.closeFile();
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(text);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
      this.entries = groups.length;
    });
  }

  /** Removes the file: the store has taken everything in it. */
  clear(): Promise<void> {
    return this.serial(async () => {
      await this.closeFile();
      await rm(this.file, { force: true });
      this.entries = 0;
    });
  }

  /** Waits for the appends so far and closes the file. */
  close(): Promise<void> {
    return this.serial(() => this.closeFile());
  }

  private async closeFile(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }

  private serial(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(task).then(
      () => {
        if (this.torn) this.onTrouble(null);
        this.torn = false;
      },
      (err: unknown) => {
        if (!this.torn) this.onTrouble(err);
        this.torn = true;
      },
    );
    this.chain = run;
    return run;
  }
}
