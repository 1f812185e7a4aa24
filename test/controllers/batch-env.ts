// What the Job and CronJob controller tests share: the real resource service
// on a fresh SQLite store (admission, validation, defaults as `lodge up` runs
// them), controllers started and stopped on it, and an agent's part played by
// hand — a Pod's phase and exit written to its status.
import { rfc3339 } from '../../src/api/resources/clock.js';
import type { KubeObject, ResourceType } from '../../src/apis/types.js';
import { controllerWrite, type ControllerContext } from '../../src/controllers/runtime/informer-factory.js';
import type { ResourceService } from '../../src/api/resources/resource-service.js';
import { ControllerEnv, eventually } from './controller-env.js';
import type { Logger } from '../../src/util/log.js';

export const NS = 'default';
export const write = controllerWrite('batch-test');

export interface BatchEnv {
  svc: ResourceService;
  pods: ResourceType;
  jobs: ResourceType;
  cronJobs: ResourceType;
  logs: Array<{ msg: string; fields?: Record<string, unknown> }>;
  start(run: (ctx: ControllerContext) => Promise<void>): { stop(): Promise<void> };
  list(rt: ResourceType): Promise<KubeObject[]>;
  get(rt: ResourceType, name: string): Promise<KubeObject | undefined>;
  close(): Promise<void>;
}

export async function batchEnv(): Promise<BatchEnv> {
  const logs: BatchEnv['logs'] = [];
  const logger = (base: Record<string, unknown>): Logger => ({
    info: (msg, f) => logs.push({ msg, fields: { ...base, ...f } }),
    warn: (msg, f) => logs.push({ msg, fields: { ...base, ...f } }),
    error: (msg, f) => logs.push({ msg, fields: { ...base, ...f } }),
    child: (f) => logger({ ...base, ...f }),
  });
  const cp = await ControllerEnv.open('lodge-batch-', logger({}));
  const { svc } = cp;
  return {
    svc,
    pods: svc.registry.resource('', 'v1', 'pods')!,
    jobs: svc.registry.resource('batch', 'v1', 'jobs')!,
    cronJobs: svc.registry.resource('batch', 'v1', 'cronjobs')!,
    logs,
    start: (run) => cp.start(run),
    async list(rt) {
      const page = await svc.list(rt, NS, {});
      return page.items.map((it) => JSON.parse(it.value) as KubeObject).sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
    },
    async get(rt, name) {
      return (await svc.tryGet(rt, NS, name))?.obj;
    },
    close: () => cp.close(),
  };
}

/** What an agent writes when a Pod's only container exits. */
export async function finishPod(env: BatchEnv, pod: KubeObject, exitCode: number): Promise<void> {
  const current = (await env.svc.get(env.pods, NS, String(pod.metadata.name))).obj;
  const at = rfc3339();
  const status = {
    phase: exitCode === 0 ? 'Succeeded' : 'Failed',
    containerStatuses: [{ name: 'main', ready: false, restartCount: 0, image: 'busybox', imageID: '', state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', finishedAt: at } } }],
  };
  await env.svc.update(env.pods, NS, String(pod.metadata.name), { ...current, status }, write, 'status');
}

export const until = eventually;

/** Time for a controller to do anything it would wrongly do. */
export const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

export function jobBody(name: string, spec: Record<string, unknown>, restartPolicy = 'Never'): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: NS },
    spec: { ...spec, template: { spec: { restartPolicy, containers: [{ name: 'main', image: 'busybox', command: ['true'] }] } } },
  };
}
