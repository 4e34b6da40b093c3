/**
 * Whether a failed write can never succeed as it is (the data or the statement is wrong),
 * rather than failed because of the store's state (locked, down, disk full, file trouble),
 * which retrying outlives. What is not known to be permanent is taken for transient: a write
 * is kept rather than lost.
 */
export function isPermanent(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  // SQLite: a constraint, a value of the wrong type or size, a bad parameter.
  if (/^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(code)) return true;
  // PostgreSQL SQLSTATE: data exception (a NUL in text, too long), integrity, syntax.
  return /^(22|23|42)[0-9A-Z]{3}$/.test(code);
}
