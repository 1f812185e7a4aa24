// kubectl-style durations: "30s", "1m30s", "500ms", "2h"; a bare number is seconds.
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a duration; 0 for "0". */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * UNITS[m[2]];
    consumed = m.index + m[0].length;
  }
  if (consumed !== t.length || t === '') throw new Error(`invalid duration "${text}": use a number of seconds or a value like 30s, 1m30s, 500ms`);
  return total;
}
