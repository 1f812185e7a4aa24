// EndpointSlices: for every Service with a selector, slices listing the
// matching Pods and Instances with their readiness (ready/serving/
// terminating), one slice per distinct set of resolved ports and at most
// 100 endpoints each, as Kubernetes' endpointslice controller. Only slices
// labelled as managed by this controller are touched; those for a Service
// are named `<service>-<hash>` from their port set and position, so a sync
// that runs before its own last create reached the cache gets
// AlreadyExists and retries instead of creating a duplicate. A Service with
// no endpoints keeps one empty placeholder slice (Kubernetes does too).
import { createHash } from 'node:crypto';
import type { KubeObject } from '../apis/types.js';
import type { Service } from '../apis/core/v1/types.js';
import { MANAGED_BY_LABEL, SERVICE_NAME_LABEL, type EndpointSlice, type SliceEndpoint, type SlicePort } from '../apis/discovery/v1/endpointslice.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import { WorkQueue } from './runtime/workqueue.js';
import { backendsOf, managedService, ownerReference, sameJson, watchServiceBackends, type Backend } from './service-backends.js';

export const CONTROLLER_NAME = 'endpointslice-controller.lodge.dev';
const MANAGER = 'endpointslice-controller';
const MAX_ENDPOINTS_PER_SLICE = 100;
const HEADLESS_LABEL = 'service.kubernetes.io/headless';

interface DesiredSlice {
  name: string;
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
}

function endpointOf(svc: Service, b: Backend): SliceEndpoint {
  const publishAll = svc.spec?.publishNotReadyAddresses === true;
  return {
    addresses: [b.ip],
    // As Kubernetes: publishNotReadyAddresses makes every endpoint ready, terminating or not.
    conditions: { ready: publishAll || b.ready, serving: b.serving, terminating: b.terminating },
    ...(b.hostname ? { hostname: b.hostname } : {}),
    ...(b.nodeName ? { nodeName: b.nodeName } : {}),
    targetRef: { kind: b.targetRef.kind, ...(b.targetRef.apiVersion ? { apiVersion: b.targetRef.apiVersion } : {}), namespace: b.targetRef.namespace, name: b.targetRef.name, uid: b.targetRef.uid },
  };
}

const sliceName = (svc: string, what: string): string => `${svc}-${createHash('sha256').update(what).digest('hex').slice(0, 5)}`;

/** The slices a Service should have: grouped by port set, split at 100 endpoints, named by port set and index. */
export function desiredSlices(svc: Service, backends: Backend[]): DesiredSlice[] {
  const name = String(svc.metadata.name);
  const groups = new Map<string, { ports: SlicePort[]; endpoints: SliceEndpoint[] }>();
  for (const b of backends) {
    const key = JSON.stringify(b.ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports: b.ports.map((p) => ({ ...p })), endpoints: [] }));
    g.endpoints.push(endpointOf(svc, b));
  }
  const out: DesiredSlice[] = [];
  for (const [key, g] of groups) {
    for (let i = 0; i * MAX_ENDPOINTS_PER_SLICE < g.endpoints.length; i++) {
      out.push({ name: sliceName(name, `${key}#${i}`), ports: g.ports, endpoints: g.endpoints.slice(i * MAX_ENDPOINTS_PER_SLICE, (i + 1) * MAX_ENDPOINTS_PER_SLICE) });
    }
  }
  if (!out.length) out.push({ name: sliceName(name, 'placeholder'), ports: [], endpoints: [] });
  return out;
}

export async function runEndpointSliceController(ctx: ControllerContext): Promise<void> {
  const sliceType = ctx.registry.resource('discovery.k8s.io', 'v1', 'endpointslices');
  if (!sliceType) return;
  const log = ctx.log.child({ controller: 'endpointslice' });
  const queue = new WorkQueue();
  ctx.signal.addEventListener('abort', () => queue.stop());
  const ours = (o: KubeObject): boolean => o.metadata.labels?.[MANAGED_BY_LABEL] === CONTROLLER_NAME;
  const w = watchServiceBackends(ctx, queue, {
    rt: sliceType,
    serviceKey: (o) => (ours(o) && o.metadata.labels?.[SERVICE_NAME_LABEL] ? `${o.metadata.namespace}/${o.metadata.labels[SERVICE_NAME_LABEL]}` : undefined),
  });
  await Promise.all([w.services.hasSynced, w.pods.hasSynced, w.instances?.hasSynced, w.ownedInformer.hasSynced]);

  const sync = async (key: string): Promise<void> => {
    const [ns, name] = key.split('/');
    const svc = w.services.cache.get(key) as Service | undefined;
    // Slices of a deleted Service go with it through their ownerReference (the garbage collector).
    if (!svc || !managedService(svc)) return;
    const existing = w.ownedInformer.list().filter((o) => o.metadata.namespace === ns && ours(o) && o.metadata.labels?.[SERVICE_NAME_LABEL] === name) as EndpointSlice[];
    const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: CONTROLLER_NAME };
    if (svc.spec?.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
    else delete labels[HEADLESS_LABEL];
    const owners = [ownerReference(svc)];
    const desired = desiredSlices(svc, backendsOf(svc, w, { includeTerminating: true }));
    const write = controllerWrite(MANAGER);
    for (const d of desired) {
      const body = { addressType: 'IPv4', endpoints: d.endpoints, ...(d.ports.length ? { ports: d.ports } : {}) };
      const cur = existing.find((e) => e.metadata.name === d.name);
      if (!cur) {
        await ctx.svc.create(sliceType, ns, { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: d.name, namespace: ns, labels, ownerReferences: owners }, ...body }, write);
        continue;
      }
      const unchanged =
        cur.addressType === 'IPv4' &&
        sameJson(cur.endpoints ?? [], body.endpoints) &&
        sameJson(cur.ports ?? [], body.ports ?? []) &&
        sameJson(cur.metadata.labels ?? {}, labels) &&
        sameJson(cur.metadata.ownerReferences ?? [], owners);
      if (unchanged) continue;
      const next: KubeObject = { ...cur, ...body, metadata: { ...cur.metadata, labels, ownerReferences: owners } };
      if (!body.ports) delete next.ports;
      // Pinned to the cached resourceVersion: if the cache is behind, the update fails and the key is synced again.
      await ctx.svc.update(sliceType, ns, d.name, next, write);
    }
    for (const e of existing) {
      if (desired.some((d) => d.name === e.metadata.name)) continue;
      try {
        await ctx.svc.delete(sliceType, ns, String(e.metadata.name), { preconditions: { uid: e.metadata.uid } });
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
    }
  };
  await queue.run(sync, (key, err) => log.warn('endpointslice sync failed', { service: key, error: (err as Error).message }), 2);
}
