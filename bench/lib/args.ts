// Command-line values every bench parses the same way: whole numbers with a
// lower bound, and a comma list of peers to run beside Lodge.

/** --flag's integer, `fallback` when absent; an error naming the flag when it is no integer ≥ min. */
export function intArg(v: string | boolean | undefined, fallback: number, flag: string, min = 1): number {
  if (v === undefined || typeof v === 'boolean') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be an integer ≥ ${min}`);
  return n;
}

/** The peers of a --peers list (all of them when absent, none for "none"); an error naming an unknown one. */
export function peerSet<P extends string>(v: string | boolean | undefined, all: readonly P[]): Set<P> {
  const out = new Set<P>();
  const list = typeof v === 'string' ? v : all.join(',');
  for (const p of list.split(',').filter((x) => x && x !== 'none')) {
    if (!all.includes(p as P)) throw new Error(`--peers: unknown peer ${JSON.stringify(p)} (${all.join(', ')}, or none)`);
    out.add(p as P);
  }
  return out;
}
