// A control plane without an agent for the ReplicaSet and Deployment
// controller tests: the real resource service over SQLite (admission,
// validation, status subresource), the controllers on their informers, and
// a stand-in for the node agent that writes Pod status as an agent does
// (phase Running, Ready condition) when a test says a Pod is ready. Pods are
// never bound to a node, so deleting one removes it at once.
import { setMaxListeners } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaValidator } from '../../src/api/admission/schema-validator.js';
import { rfc3339 } from '../../src/api/resources/clock.js';
import { ResourceService } from '../../src/api/resources/resource-service.js';
import { registry as defaultRegistry } from '../../src/apis/registry.js';
import type { KubeObject, ResourceType } from '../../src/apis/types.js';
import type { Pod } from '../../src/apis/core/v1/types.js';
import { runDeploymentController } from '../../src/controllers/deployment-controller.js';
import { runGarbageCollector } from '../../src/controllers/garbage-collector.js';
import { runReplicaSetController } from '../../src/controllers/replicaset-controller.js';
import { controllerWrite, InformerFactory, type ControllerContext } from '../../src/controllers/runtime/informer-factory.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { bootstrapNamespaces } from '../../src/up/bootstrap.js';
import type { Logger } from '../../src/util/log.js';
import { removeDir } from '../e2e/harness.js';

export const NS = 'default';
export const write = controllerWrite('workload-test');

const quiet: Logger = {
  info: () => {},
  warn: (m, f) => process.env.LODGE_LOG_LEVEL && process.stderr.write(`${JSON.stringify({ m, ...f })}\n`),
  error: (m, f) => process.stderr.write(`${JSON.stringify({ m, ...f })}\n`),
  child: () => quiet,
};

export interface Running {
  stop(): Promise<void>;
}

export class WorkloadEnv {
  private readonly running = new Set<Running>();
  readonly pods: ResourceType;
  readonly rs: ResourceType;
  readonly deployments: ResourceType;

  private constructor(
    readonly svc: ResourceService,
    private readonly store: SqliteStore,
    private readonly dir: string,
  ) {
    const reg = svc.registry;
    this.pods = reg.resource('', 'v1', 'pods')!;
    this.rs = reg.resource('apps', 'v1', 'replicasets')!;
    this.deployments = reg.resource('apps', 'v1', 'deployments')!;
  }

  static async open(): Promise<WorkloadEnv> {
    const dir = mkdtempSync(join(tmpdir(), 'lodge-workload-'));
    const store = SqliteStore.open(join(dir, 'store.db'));
    const registry = defaultRegistry();
    const svc = new ResourceService(store, registry, new SchemaValidator(registry));
    await bootstrapNamespaces(svc);
    return new WorkloadEnv(svc, store, dir);
  }

  private start(run: (ctx: ControllerContext) => Promise<void>): Running {
    const abort = new AbortController();
    setMaxListeners(0, abort.signal);
    const informers = new InformerFactory(this.svc, quiet, abort.signal);
    const done = run({ svc: this.svc, registry: this.svc.registry, informers, log: quiet, signal: abort.signal });
    const handle: Running = {
      stop: async () => {
        this.running.delete(handle);
        abort.abort();
        await done;
        await informers.stopped();
      },
    };
    this.running.add(handle);
    return handle;
  }

  startReplicaSets(): Running {
    return this.start((ctx) => runReplicaSetController(ctx));
  }
  startDeployments(): Running {
    return this.start((ctx) => runDeploymentController(ctx));
  }
  startGarbageCollector(): Running {
    return this.start((ctx) => runGarbageCollector(ctx));
  }

  async create(rt: ResourceType, body: KubeObject): Promise<KubeObject> {
    return (await this.svc.create(rt, NS, body, write)).obj;
  }
  async get(rt: ResourceType, name: string): Promise<KubeObject | undefined> {
    return (await this.svc.tryGet(rt, NS, name))?.obj;
  }
  async list(rt: ResourceType): Promise<KubeObject[]> {
    return (await this.svc.list(rt, NS, {})).items.map((i) => JSON.parse(i.value) as KubeObject);
  }
  async patch(rt: ResourceType, name: string, p: Record<string, unknown>): Promise<KubeObject> {
    return (await this.svc.patch(rt, NS, name, 'merge', p, { ...write, force: false })).stored.obj;
  }
  async pods_(): Promise<Pod[]> {
    return (await this.list(this.pods)) as Pod[];
  }

  /** What an agent writes once a Pod's containers run and pass readiness. */
  async markReady(name: string, sinceMs = Date.now()): Promise<void> {
    const t = rfc3339(sinceMs);
    await this.svc.patch(
      this.pods,
      NS,
      name,
      'merge',
      { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }, { type: 'ContainersReady', status: 'True', lastTransitionTime: t }] } },
      { ...controllerWrite('fake-agent'), force: false },
      'status',
    );
  }

  async close(): Promise<void> {
    for (const r of [...this.running]) await r.stop();
    await this.store.close();
    removeDir(this.dir);
  }
}

export function podTemplate(labels: Record<string, string>, image = 'busybox'): Record<string, unknown> {
  return { metadata: { labels }, spec: { containers: [{ name: 'c', image, command: ['sleep', '3600'] }], terminationGracePeriodSeconds: 1 } };
}

export function isReadyPod(p: Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/** Poll until fn returns a value (no fixed sleeps: each turn is one short tick). */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
