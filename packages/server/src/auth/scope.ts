/**
 * Whether `grants` (the token's `grants` claim) holds `<kind>:<pattern>` for `id`. A pattern is
 * an id, or has `*` wildcards that match any run of characters (`team-*`, `*`).
 */
export function granted(grants: readonly string[], kind: string, id: string): boolean {
  const prefix = `${kind}:`;
  for (const g of grants) {
    if (g.startsWith(prefix) && matches(g.slice(prefix.length), id)) return true;
  }
  return false;
}

/** Glob match with `*` only, no backtracking blow-up: each fixed piece in order, greedy. */
function matches(pattern: string, id: string): boolean {
  if (!pattern.includes('*')) return pattern === id;
  const pieces = pattern.split('*');
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (!id.startsWith(first) || id.length < first.length + last.length) return false;
  let at = first.length;
  for (const piece of pieces.slice(1, -1)) {
    const i = id.indexOf(piece, at);
    if (i < 0) return false;
    at = i + piece.length;
  }
  return at <= id.length - last.length && id.endsWith(last);
}
