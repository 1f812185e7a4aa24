// Kubernetes' API call latency SLIs read the way Kubernetes reads them: from
// the server's apiserver_request_duration_seconds histogram (the time the
// server spent on each request, connection setup not included), between two
// scrapes of /metrics, over every client's calls — p50 and p99 interpolated
// within buckets as Prometheus' histogram_quantile does.
import type { KubeClient } from '../../src/client/client.js';

/** Cumulative bucket counts by upper bound, summed over the series an SLI covers. */
export type Buckets = Map<number, number>;

export interface SliSnapshot {
  reads: Buckets;
  mutating: Buckets;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE']);
const LINE = /^apiserver_request_duration_seconds_bucket\{(.*)\} (\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/;

function labels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

export function parseSli(text: string): SliSnapshot {
  const snap: SliSnapshot = { reads: new Map(), mutating: new Map() };
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const l = labels(m[1]!);
    const le = l.le === '+Inf' ? Infinity : Number(l.le);
    // Single-object reads: GET of one object; mutating: any single-object write (create, update, patch, delete).
    const into = l.verb === 'GET' && l.scope === 'resource' ? snap.reads : MUTATING.has(l.verb ?? '') ? snap.mutating : undefined;
    if (into) into.set(le, (into.get(le) ?? 0) + Number(m[2]));
  }
  return snap;
}

export async function scrapeSli(client: KubeClient): Promise<SliSnapshot> {
  const res = await client.request({ method: 'GET', path: '/metrics', accept: 'text/plain' });
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${res.body.slice(0, 200)}`);
  return parseSli(res.body);
}

function diff(a: Buckets, b: Buckets): Buckets {
  const out: Buckets = new Map();
  for (const [le, n] of b) out.set(le, n - (a.get(le) ?? 0));
  return out;
}

/** histogram_quantile: the bucket the rank falls in, linearly interpolated; the +Inf bucket answers with the highest finite bound. */
export function quantile(q: number, buckets: Buckets): { value: number; count: number } {
  const bounds = [...buckets.keys()].sort((x, y) => x - y);
  const count = buckets.get(Infinity) ?? 0;
  if (count === 0) return { value: NaN, count };
  const rank = q * count;
  let prevBound = 0;
  let prevCount = 0;
  for (const b of bounds) {
    const c = buckets.get(b)!;
    if (c >= rank) {
      if (b === Infinity) return { value: prevBound, count };
      return { value: prevBound + ((b - prevBound) * (rank - prevCount)) / Math.max(c - prevCount, 1), count };
    }
    prevBound = b;
    prevCount = c;
  }
  return { value: prevBound, count };
}

export interface SliFigures {
  reads: { p50: number; p99: number; n: number };
  mutating: { p50: number; p99: number; n: number };
}

/** p50/p99 in ms of what happened between two scrapes. */
export function sliBetween(before: SliSnapshot, after: SliSnapshot): SliFigures {
  const fig = (a: Buckets, b: Buckets): { p50: number; p99: number; n: number } => {
    const d = diff(a, b);
    return { p50: quantile(0.5, d).value * 1000, p99: quantile(0.99, d).value * 1000, n: d.get(Infinity) ?? 0 };
  };
  return { reads: fig(before.reads, after.reads), mutating: fig(before.mutating, after.mutating) };
}
