// Parses resource quantities ("500m", "1.5Gi", "2e3", 4) into plain numbers
// for semantic checks (requests <= limits, sane VM sizes). Format errors are
// the schema's business; here an unparsable value is simply undefined.
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

export function parseQuantity(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = QUANTITY.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[3] !== undefined) return n * 10 ** Number(m[3]);
  const suffix = m[2] ?? '';
  return n * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

export function isQuantity(v: unknown): boolean {
  return parseQuantity(v) !== undefined;
}

/** Bytes as kubectl-like binary units: 1536 → "1536", 2147483648 → "2Gi". */
export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '';
  for (const [suffix, size] of Object.entries(BINARY).reverse()) {
    if (n >= size && n % size === 0) return `${n / size}${suffix}`;
  }
  for (const [suffix, size] of Object.entries(BINARY).reverse()) {
    if (n >= size) return `${(n / size).toFixed(1)}${suffix}`;
  }
  return String(n);
}
