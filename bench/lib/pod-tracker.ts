// One watch of a namespace's Pods for the scale benches: when each Pod was
// first seen bound (spec.nodeName) and on which node, and which are Running
// now. Times are performance.now() at the event's arrival. The watch is
// resumed from the last resourceVersion when the server ends it.
import type { KubeObject } from '../../src/apis/types.js';
import type { KubeClient } from '../../src/client/client.js';
import { PODS } from '../../src/client/refs.js';

export class PodTracker {
  /** First time each Pod was seen with spec.nodeName, and the node. */
  readonly bound = new Map<string, { t: number; node: string }>();
  /** Pods whose latest version is phase Running. */
  readonly running = new Set<string>();
  /** When the Running count first reached its current value (the last Pod's Running event). */
  lastRunningAt = 0;
  error?: Error;
  private readonly waiters = new Set<() => void>();
  private readonly abort = new AbortController();
  private done: Promise<void> = Promise.resolve();

  private constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
  ) {}

  /** Resolves once the watch is open (events from now on are seen). */
  static async start(client: KubeClient, namespace: string): Promise<PodTracker> {
    const t = new PodTracker(client, namespace);
    const list = await client.list<{ metadata: { resourceVersion?: string }; items: KubeObject[] }>(PODS, { namespace });
    for (const p of list.items) t.seen(p, performance.now());
    t.done = t.follow(String(list.metadata.resourceVersion ?? ''));
    return t;
  }

  private seen(p: KubeObject, t: number, deleted = false): void {
    const name = String(p.metadata.name);
    const node = p.spec?.nodeName as string | undefined;
    if (node && !this.bound.has(name)) this.bound.set(name, { t, node });
    if (!deleted && p.status?.phase === 'Running') {
      if (!this.running.has(name)) this.lastRunningAt = t;
      this.running.add(name);
    } else this.running.delete(name);
  }

  private async follow(rv: string): Promise<void> {
    try {
      while (!this.abort.signal.aborted) {
        for await (const ev of this.client.watch(PODS, { namespace: this.namespace, resourceVersion: rv, timeoutSeconds: 3600, signal: this.abort.signal })) {
          const t = performance.now();
          if (ev.type === 'ERROR') throw new Error(`pod watch: ${ev.object.message ?? JSON.stringify(ev.object)}`);
          rv = ev.object.metadata.resourceVersion ?? rv;
          if (ev.type !== 'BOOKMARK') this.seen(ev.object, t, ev.type === 'DELETED');
          for (const w of this.waiters) w();
        }
      }
    } catch (e) {
      if (!this.abort.signal.aborted) this.error = e as Error;
    }
    for (const w of this.waiters) w();
  }

  /** Resolves when pred holds; rejects after timeoutMs (with `what` and progress) or when the watch failed. */
  until(what: string, pred: () => boolean, timeoutMs: number, progress: () => string): Promise<void> {
    return new Promise((res, rej) => {
      const check = (): void => {
        if (pred()) finish();
        else if (this.error) finish(this.error);
      };
      const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what} (${progress()})`)), timeoutMs);
      const finish = (e?: Error): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (e) rej(e);
        else res();
      };
      this.waiters.add(check);
      check();
    });
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}
