// What an object counts against a quota (Kubernetes' quota evaluators): one
// `count/<resource>.<group>` for every object, the legacy names (pods,
// services, secrets, ...) for the core kinds, compute requests and limits
// for Pods and Instances, storage for claims. Instances are Lodge's tenant
// workloads, so their spec.cpu/spec.memory count as both request and limit
// (a guest gets what it asks for), under the same names as a Pod's.
import type { Container, Pod, ResourceList } from '../../../apis/core/v1/types.js';
import type { KubeObject, ResourceType } from '../../../apis/types.js';
import { isPodTerminal } from '../../../apis/core/v1/pod-status.js';
import { add, milli, type Amounts } from './amounts.js';

/** Resource names a Pod must state for each container when a quota limits them (Kubernetes' backward-compatible rule). */
export const COMPUTE = ['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'];

/** "count/pods", "count/instances.lodge.dev". */
export const countName = (rt: Pick<ResourceType, 'plural' | 'group'>): string => `count/${rt.plural}${rt.group ? `.${rt.group}` : ''}`;

/** The legacy object-count names Kubernetes keeps for core kinds. */
const LEGACY_COUNT: Record<string, string> = {
  'core/pods': 'pods',
  'core/services': 'services',
  'core/configmaps': 'configmaps',
  'core/secrets': 'secrets',
  'core/persistentvolumeclaims': 'persistentvolumeclaims',
  'core/replicationcontrollers': 'replicationcontrollers',
  'core/resourcequotas': 'resourcequotas',
};

function compute(requests: ResourceList | undefined, limits: ResourceList | undefined): Amounts {
  const out: Amounts = {};
  for (const r of ['cpu', 'memory'] as const) {
    const req = milli(requests?.[r]);
    const lim = milli(limits?.[r]);
    if (req !== undefined) out[r] = out[`requests.${r}`] = req;
    if (lim !== undefined) out[`limits.${r}`] = lim;
  }
  return out;
}

/** A Pod's effective compute: containers summed, init containers (run one at a time) taken at their largest, as the scheduler sees it. */
function podCompute(pod: Pod): Amounts {
  const sum: Amounts = {};
  for (const c of pod.spec?.containers ?? []) add(sum, compute(c.resources?.requests, c.resources?.limits));
  for (const c of (pod.spec?.initContainers ?? []) as Container[]) {
    const one = compute(c.resources?.requests, c.resources?.limits);
    for (const [k, v] of Object.entries(one)) if (v > (sum[k] ?? 0)) sum[k] = v;
  }
  return sum;
}

/** A Pod that has finished holds nothing (Kubernetes' quota ignores terminal pods). */
export const isTerminal = isPodTerminal;

export function usageOf(rt: ResourceType, obj: KubeObject): Amounts {
  const out: Amounts = { [countName(rt)]: 1000 };
  const legacy = LEGACY_COUNT[`${rt.group || 'core'}/${rt.plural}`];
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  if (rt.group === '' && rt.plural === 'pods') {
    if (isTerminal(obj)) return {};
    out.pods = 1000;
    add(out, podCompute(obj as Pod));
  } else if (legacy) out[legacy] = 1000;
  if (rt.group === '' && rt.plural === 'services') {
    const ports = (spec.ports as unknown[] | undefined)?.length ?? 0;
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') out['services.nodeports'] = ports * 1000;
    if (spec.type === 'LoadBalancer') out['services.loadbalancers'] = 1000;
  }
  if (rt.group === '' && rt.plural === 'persistentvolumeclaims') {
    const storage = milli((spec.resources as { requests?: ResourceList } | undefined)?.requests?.storage);
    if (storage !== undefined) out['requests.storage'] = storage;
  }
  if (rt.group === 'lodge.dev' && rt.plural === 'instances') {
    const c = { cpu: spec.cpu as string | undefined, memory: spec.memory as string | undefined } as ResourceList;
    add(out, compute(c, c));
  }
  return out;
}

/** Which kinds (group/plural) a quota on `name` needs counted. */
export function kindsCounting(name: string): string[] {
  if (name.startsWith('count/')) {
    const rest = name.slice('count/'.length);
    const dot = rest.indexOf('.');
    return [dot < 0 ? `/${rest}` : `${rest.slice(dot + 1)}/${rest.slice(0, dot)}`];
  }
  if (COMPUTE.includes(name)) return ['/pods', 'lodge.dev/instances'];
  if (name === 'pods') return ['/pods'];
  if (name.startsWith('services')) return ['/services'];
  if (name === 'requests.storage' || name === 'persistentvolumeclaims') return ['/persistentvolumeclaims'];
  const legacy = Object.entries(LEGACY_COUNT).find(([, v]) => v === name);
  return legacy ? [`/${legacy[0].slice('core/'.length)}`] : [];
}

/** The names of `required` that a Pod's container leaves unset: "limits.cpu for: app,web; requests.memory for: app". */
export function missingCompute(pod: Pod, required: string[]): string | undefined {
  const want = required.filter((r) => COMPUTE.includes(r));
  if (!want.length) return undefined;
  const missing = new Map<string, string[]>();
  for (const c of pod.spec?.containers ?? []) {
    const has = compute(c.resources?.requests, c.resources?.limits);
    for (const r of want) if (has[r] === undefined) missing.set(r, [...(missing.get(r) ?? []), String(c.name)]);
  }
  if (!missing.size) return undefined;
  return [...missing.keys()].sort().map((r) => `${r} for: ${[...new Set(missing.get(r) ?? [])].sort().join(',')}`).join('; ');
}
