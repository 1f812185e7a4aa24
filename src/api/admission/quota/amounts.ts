// Resource amounts for quota and limit arithmetic, as integer milli-units
// ("500m" cpu → 500, "1Gi" → 1073741824000) so sums and comparisons are exact
// where floating point would drift. Formatting follows what Kubernetes
// prints: cores or millicores for cpu, binary suffixes for bytes, plain
// integers for counts.
import { parseQuantity } from '../../../apis/core/v1/quantity.js';

/** Amounts by resource name (pods, requests.cpu, count/secrets, ...), in milli-units. */
export type Amounts = Record<string, number>;

/** Milli-units of a quantity, rounded up as Kubernetes rounds sub-milli values; undefined when unparsable. */
export function milli(v: unknown): number | undefined {
  const n = parseQuantity(v);
  return n === undefined ? undefined : Math.ceil(Math.round(n * 1e6) / 1e3);
}

export function add(into: Amounts, from: Amounts): Amounts {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

/** What `next` uses beyond `prev`, per resource (positive parts only): what an update must be charged. */
export function increase(next: Amounts, prev: Amounts): Amounts {
  const out: Amounts = {};
  for (const [k, v] of Object.entries(next)) if (v > (prev[k] ?? 0)) out[k] = v - (prev[k] ?? 0);
  return out;
}

const BINARY: Array<[string, number]> = [['Ei', 2 ** 60], ['Pi', 2 ** 50], ['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]];

/** Whether a resource name measures bytes (memory, storage) rather than cores or objects. */
const isBytes = (name: string): boolean => /(^|\.)(memory|storage|ephemeral-storage)$/.test(name);
const isCpu = (name: string): boolean => /(^|\.)cpu$/.test(name);

/** How Kubernetes would print an amount of the named resource: "1500m", "2", "512Mi", "3". */
export function format(name: string, m: number): string {
  if (m % 1000 !== 0) return `${m}m`;
  const whole = m / 1000;
  if (isBytes(name) && whole !== 0) for (const [suffix, size] of BINARY) if (whole % size === 0) return `${whole / size}${suffix}`;
  return String(whole);
}

/** "k1=v1,k2=v2" sorted by name: Kubernetes' prettyPrint of a ResourceList in quota messages. */
export function prettyPrint(a: Amounts, shown: (name: string) => string = (n) => format(n, a[n] ?? 0)): string {
  return Object.keys(a).sort().map((k) => `${k}=${shown(k)}`).join(',');
}

export { isCpu, isBytes };
