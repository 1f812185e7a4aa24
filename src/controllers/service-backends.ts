// What stands behind a Service: the Pods and Instances of its namespace
// whose labels match its selector, each with its address, readiness and the
// ports the Service's targetPorts resolve to on it. Shared by the Endpoints
// and EndpointSlice controllers so both publish the same set, and the watch
// wiring both need (a change of a Service, Pod or Instance re-queues the
// Services it may concern).
import type { KubeObject, OwnerReference, ResourceType } from '../apis/types.js';
import type { ContainerPort, Pod, Service, ServicePort } from '../apis/core/v1/types.js';
import type { Instance } from '../apis/lodge/v1alpha1/instance-types.js';
import type { ControllerContext } from './runtime/informer-factory.js';
import type { Informer } from './runtime/informer.js';
import type { WorkQueue } from './runtime/workqueue.js';

export interface BackendPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface Backend {
  ip: string;
  /** Ready for traffic (Ready condition True and not terminating). */
  ready: boolean;
  /** Ready, whether terminating or not (EndpointSlice's serving). */
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  /** A Pod's spec.hostname when its spec.subdomain names this Service: its DNS name under a headless Service. */
  hostname?: string;
  targetRef: { kind: 'Pod' | 'Instance'; apiVersion?: string; namespace: string; name: string; uid: string };
  /** Service ports resolved on this backend, in the Service's order; ports that do not resolve are left out. */
  ports: BackendPort[];
}

export interface Watched {
  services: Informer;
  pods: Informer;
  instances?: Informer;
}

const labelsMatch = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** Services the controllers fill in: with a selector, and not ExternalName (Kubernetes gives those no endpoints). */
export function managedService(svc: Service): boolean {
  return Boolean(svc.spec?.selector) && svc.spec?.type !== 'ExternalName' && !svc.metadata.deletionTimestamp;
}

export function ownerReference(svc: Service): OwnerReference {
  return { apiVersion: 'v1', kind: 'Service', name: String(svc.metadata.name), uid: String(svc.metadata.uid), controller: true, blockOwnerDeletion: true };
}

function conditionTrue(conditions: Array<{ type?: string; status?: string }> | undefined, type: string): boolean {
  return (conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

/** The container port named `name` (with the Service port's protocol), as Kubernetes' FindPort. */
function namedPodPort(pod: Pod, name: string, protocol: string): number | undefined {
  for (const c of pod.spec?.containers ?? []) {
    const ports = (c as { ports?: ContainerPort[] }).ports ?? [];
    const p = ports.find((cp) => cp.name === name && (cp.protocol ?? 'TCP') === protocol);
    if (p?.containerPort) return p.containerPort;
  }
  return undefined;
}

function resolvePorts(ports: ServicePort[], named: (name: string, protocol: string) => number | undefined): BackendPort[] {
  const out: BackendPort[] = [];
  for (const sp of ports) {
    const protocol = sp.protocol ?? 'TCP';
    const target = sp.targetPort ?? sp.port;
    const port = typeof target === 'number' ? target : /^\d+$/.test(String(target)) ? Number(target) : named(String(target), protocol);
    if (!port) continue;
    out.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol, ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
  }
  return out;
}

/** As Kubernetes: a Pod is HOSTNAME.SVC.NS.svc when its spec.subdomain is the Service (same namespace) and it sets spec.hostname. */
function hostnameIn(pod: Pod, svc: Service): string | undefined {
  const spec = pod.spec as { hostname?: string; subdomain?: string } | undefined;
  return spec?.hostname && spec.subdomain === svc.metadata.name ? spec.hostname : undefined;
}

/**
 * The backends of `svc`. Terminating ones are included only when asked
 * (EndpointSlices show them as terminating; Endpoints drop them unless the
 * Service publishes not-ready addresses). Sorted by address, then name, so
 * the result does not depend on cache order.
 */
export function backendsOf(svc: Service, w: Watched, o: { includeTerminating: boolean }): Backend[] {
  const ns = String(svc.metadata.namespace);
  const selector = svc.spec?.selector ?? {};
  const ports = svc.spec?.ports ?? [];
  const out: Backend[] = [];
  const wanted = (o2: KubeObject): boolean => o2.metadata.namespace === ns && labelsMatch(selector, o2.metadata.labels);
  for (const obj of w.pods.cache.values()) {
    if (!wanted(obj)) continue;
    const pod = obj as Pod;
    const ip = pod.status?.podIP;
    const phase = pod.status?.phase;
    // Finished Pods serve nobody; Pods without an address cannot be reached.
    if (!ip || phase === 'Succeeded' || phase === 'Failed') continue;
    const terminating = Boolean(pod.metadata.deletionTimestamp);
    if (terminating && !o.includeTerminating) continue;
    const serving = conditionTrue(pod.status?.conditions, 'Ready');
    const resolved = resolvePorts(ports, (name, protocol) => namedPodPort(pod, name, protocol));
    if (ports.length && !resolved.length) continue;
    out.push({
      ip,
      ready: serving && !terminating,
      serving,
      terminating,
      nodeName: pod.spec?.nodeName || undefined,
      ...(hostnameIn(pod, svc) ? { hostname: hostnameIn(pod, svc) } : {}),
      targetRef: { kind: 'Pod', namespace: ns, name: String(pod.metadata.name), uid: String(pod.metadata.uid) },
      ports: resolved,
    });
  }
  for (const obj of w.instances?.cache.values() ?? []) {
    if (!wanted(obj)) continue;
    const inst = obj as Instance;
    const ip = inst.status?.ip;
    if (!ip) continue;
    const terminating = Boolean(inst.metadata.deletionTimestamp);
    if (terminating && !o.includeTerminating) continue;
    const serving = conditionTrue(inst.status?.conditions, 'Ready');
    // An Instance has no named ports: only numeric targetPorts reach it.
    const resolved = resolvePorts(ports, () => undefined);
    if (ports.length && !resolved.length) continue;
    out.push({
      ip,
      ready: serving && !terminating,
      serving,
      terminating,
      nodeName: inst.status?.nodeName || inst.spec?.nodeName || undefined,
      targetRef: { kind: 'Instance', apiVersion: 'lodge.dev/v1alpha1', namespace: ns, name: String(inst.metadata.name), uid: String(inst.metadata.uid) },
      ports: resolved,
    });
  }
  return out.sort((a, b) => a.ip.localeCompare(b.ip) || a.targetRef.name.localeCompare(b.targetRef.name));
}

/**
 * Informers for Services, Pods and Instances, with handlers that queue the
 * key (namespace/name) of every Service a change may concern: a Pod or
 * Instance concerns the selecting Services of its namespace, before and
 * after a label change. `owned` maps an object the controller writes
 * (Endpoints, EndpointSlice) back to its Service's key, so a change made by
 * someone else is undone.
 */
export function watchServiceBackends(ctx: ControllerContext, queue: WorkQueue, owned: { rt: ResourceType; serviceKey(o: KubeObject): string | undefined }): Watched & { ownedInformer: Informer } {
  const svcType = ctx.registry.resource('', 'v1', 'services');
  const podType = ctx.registry.resource('', 'v1', 'pods');
  const instType = ctx.registry.resource('lodge.dev', 'v1alpha1', 'instances');
  if (!svcType || !podType) throw new Error('endpoints controllers need the Service and Pod kinds registered');
  const services = ctx.informers.for(svcType);
  const pods = ctx.informers.for(podType);
  const instances = instType ? ctx.informers.for(instType) : undefined;
  const ownedInformer = ctx.informers.for(owned.rt);
  const keyOf = (o: KubeObject): string => `${o.metadata.namespace}/${o.metadata.name}`;

  services.addHandlers({ onAdd: (s) => queue.add(keyOf(s)), onUpdate: (_o, s) => queue.add(keyOf(s)), onDelete: (s) => queue.add(keyOf(s)) });
  const backendChanged = (...objs: KubeObject[]): void => {
    for (const s of services.cache.values()) {
      const sel = (s as Service).spec?.selector;
      if (!sel) continue;
      if (objs.some((o) => o.metadata.namespace === s.metadata.namespace && labelsMatch(sel, o.metadata.labels))) queue.add(keyOf(s));
    }
  };
  const handlers = { onAdd: (o: KubeObject) => backendChanged(o), onUpdate: (a: KubeObject, b: KubeObject) => backendChanged(a, b), onDelete: (o: KubeObject) => backendChanged(o) };
  pods.addHandlers(handlers);
  instances?.addHandlers(handlers);
  const ownedChanged = (o: KubeObject): void => {
    const key = owned.serviceKey(o);
    if (key) queue.add(key);
  };
  ownedInformer.addHandlers({ onAdd: ownedChanged, onUpdate: (_o, n) => ownedChanged(n), onDelete: ownedChanged });
  return { services, pods, instances, ownedInformer };
}

/** Deep equality of JSON values, keys in any order. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
