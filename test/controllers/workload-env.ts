// A control plane without an agent for the ReplicaSet and Deployment
// controller tests: the real resource service over SQLite (admission,
// validation, status subresource), the controllers on their informers, and
// a stand-in for the node agent that writes Pod status as an agent does
// (phase Running, Ready condition) when a test says a Pod is ready. Pods are
// never bound to a node, so deleting one removes it at once.
import { rfc3339 } from '../../src/api/resources/clock.js';
import { ResourceService } from '../../src/api/resources/resource-service.js';
import type { KubeObject, ResourceType } from '../../src/apis/types.js';
import type { Pod } from '../../src/apis/core/v1/types.js';
import { runDeploymentController } from '../../src/controllers/deployment-controller.js';
import { runGarbageCollector } from '../../src/controllers/garbage-collector.js';
import { runReplicaSetController } from '../../src/controllers/replicaset-controller.js';
import { controllerWrite, type ControllerContext } from '../../src/controllers/runtime/informer-factory.js';
import { ControllerEnv, eventually, type Running, quietLog } from './controller-env.js';

export type { Running };

export const NS = 'default';
export const write = controllerWrite('workload-test');

const quiet = quietLog;


export class WorkloadEnv {
  readonly svc: ResourceService;
  readonly pods: ResourceType;
  readonly rs: ResourceType;
  readonly deployments: ResourceType;

  private constructor(private readonly cp: ControllerEnv) {
    this.svc = cp.svc;
    const reg = cp.svc.registry;
    this.pods = reg.resource('', 'v1', 'pods')!;
    this.rs = reg.resource('apps', 'v1', 'replicasets')!;
    this.deployments = reg.resource('apps', 'v1', 'deployments')!;
  }

  static async open(): Promise<WorkloadEnv> {
    return new WorkloadEnv(await ControllerEnv.open('lodge-workload-', quiet));
  }

  private start(run: (ctx: ControllerContext) => Promise<void>): Running {
    return this.cp.start(run);
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

  close(): Promise<void> {
    return this.cp.close();
  }

}

export function podTemplate(labels: Record<string, string>, image = 'busybox'): Record<string, unknown> {
  return { metadata: { labels }, spec: { containers: [{ name: 'c', image, command: ['sleep', '3600'] }], terminationGracePeriodSeconds: 1 } };
}

export function isReadyPod(p: Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

export { eventually };
