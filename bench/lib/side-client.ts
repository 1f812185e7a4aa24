// A side client for the scale benches: while the bench loads the cluster,
// it issues small API calls at a steady rate — single-object reads and
// mutating requests, the two kinds Kubernetes' API call latency SLOs are
// about — and records each call's latency. It has its own connection pool,
// so its calls never queue behind the bench's own requests in the client.
import { KubeClient } from '../../src/client/client.js';
import { CONFIGMAPS, NODES, PODS } from '../../src/client/refs.js';
import type { RunningLodge } from './lodge.js';
import { summarize, type Summary } from './stats.js';

export type CallKind = 'GET Pod' | 'GET Node' | 'POST ConfigMap' | 'DELETE ConfigMap' | 'PATCH ConfigMap label';
export const READ_KINDS: CallKind[] = ['GET Pod', 'GET Node'];
export const MUTATING_KINDS: CallKind[] = ['POST ConfigMap', 'DELETE ConfigMap', 'PATCH ConfigMap label'];

/** A stream that falls this far behind (calls outstanding) skips ticks rather than pile up: the server is the thing measured. */
const MAX_OUTSTANDING = 8;

export interface SideTargets {
  namespace: string;
  /** A Pod and a Node to read, and a ConfigMap to patch (all existing). */
  pod: string;
  node: string;
  configMap: string;
}

export class SideClient {
  readonly samples = new Map<CallKind, number[]>();
  errors = 0;
  /** The first failure of each kind (a failure is a figure too: it is reported, not hidden). */
  readonly firstErrors = new Map<CallKind, string>();
  private readonly client: KubeClient;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private seq = 0;
  private startedAt = 0;

  constructor(lodge: RunningLodge, private readonly t: SideTargets, private readonly perSecond: number) {
    this.client = new KubeClient({ server: lodge.url, caPem: lodge.ca, token: lodge.token, timeoutMs: 60_000 });
    for (const k of [...READ_KINDS, ...MUTATING_KINDS]) this.samples.set(k, []);
  }

  /** Time one call; resolves true when it succeeded. */
  private timed(kind: CallKind, fn: () => Promise<unknown>): Promise<boolean> {
    const t0 = performance.now();
    return fn().then(
      () => {
        this.samples.get(kind)!.push(performance.now() - t0);
        return true;
      },
      (e: Error) => {
        this.errors++;
        if (!this.firstErrors.has(kind)) this.firstErrors.set(kind, e.message);
        return false;
      },
    );
  }

  /** Every 1/perSecond s, one call of each stream (a ConfigMap's create and delete are one stream). */
  start(): void {
    const ns = this.t.namespace;
    const streams: Array<() => Promise<unknown>> = [
      () => this.timed('GET Pod', () => this.client.get(PODS, this.t.pod, { namespace: ns })),
      () => this.timed('GET Node', () => this.client.get(NODES, this.t.node)),
      async () => {
        const name = `side-${this.seq++}`;
        if (await this.timed('POST ConfigMap', () => this.client.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { k: 'v' } })))
          await this.timed('DELETE ConfigMap', () => this.client.delete(CONFIGMAPS, name, { namespace: ns }));
      },
      () => this.timed('PATCH ConfigMap label', () => this.client.patch(CONFIGMAPS, this.t.configMap, { metadata: { labels: { tick: String(this.seq++) } } }, 'application/merge-patch+json', { namespace: ns })),
    ];
    this.startedAt = performance.now();
    for (const stream of streams) {
      let outstanding = 0;
      const tick = (): void => {
        if (outstanding >= MAX_OUTSTANDING) return;
        outstanding++;
        const p = stream().finally(() => {
          outstanding--;
          this.pending.delete(p);
        });
        this.pending.add(p);
      };
      tick();
      this.timers.push(setInterval(tick, 1000 / this.perSecond));
    }
  }

  /** Stop after at least `minMs` of calls (a quick run still gets a few samples of each kind). */
  async stop(minMs = 0): Promise<void> {
    const left = this.startedAt + minMs - performance.now();
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled([...this.pending]);
    await this.client.close();
  }

  summary(kinds: CallKind[]): Summary {
    return summarize(kinds.flatMap((k) => this.samples.get(k) ?? []));
  }
}
