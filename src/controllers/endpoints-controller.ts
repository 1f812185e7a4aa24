// Endpoints: for every Service with a selector, an Endpoints object of the
// same name listing the addresses of the matching Pods and Instances —
// ready ones in `addresses`, the rest in `notReadyAddresses` — grouped into
// subsets by the ports they resolve to, as Kubernetes' endpoints controller
// does. Services without a selector are left alone: their Endpoints are
// written by hand. Level-triggered: each sync computes the whole object from
// the caches and writes only when it differs from what is stored.
import type { KubeObject } from '../apis/types.js';
import type { EndpointAddress, EndpointSubset, Service } from '../apis/core/v1/types.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import { WorkQueue } from './runtime/workqueue.js';
import { backendsOf, managedService, ownerReference, sameJson, watchServiceBackends, type Backend } from './service-backends.js';

const MANAGER = 'endpoint-controller';
/** Kubernetes labels the Endpoints of a headless Service so proxies skip them. */
const HEADLESS_LABEL = 'service.kubernetes.io/headless';

function address(b: Backend): EndpointAddress {
  return {
    ip: b.ip,
    ...(b.hostname ? { hostname: b.hostname } : {}),
    ...(b.nodeName ? { nodeName: b.nodeName } : {}),
    targetRef: { kind: b.targetRef.kind, ...(b.targetRef.apiVersion ? { apiVersion: b.targetRef.apiVersion } : {}), namespace: b.targetRef.namespace, name: b.targetRef.name, uid: b.targetRef.uid },
  };
}

/** Subsets for the backends: one per distinct set of resolved ports (Kubernetes' RepackSubsets), in a stable order. */
export function subsetsFor(svc: Service, backends: Backend[]): EndpointSubset[] {
  const publishAll = svc.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, EndpointSubset>();
  for (const b of backends) {
    const key = JSON.stringify(b.ports);
    let s = groups.get(key);
    if (!s) groups.set(key, (s = { ports: b.ports.map((p) => ({ ...p })) }));
    const list = publishAll || b.ready ? 'addresses' : 'notReadyAddresses';
    (s[list] ??= []).push(address(b));
  }
  const out = [...groups.values()];
  for (const s of out) if (!s.ports?.length) delete s.ports;
  return out.sort((a, b) => JSON.stringify(a.ports ?? []).localeCompare(JSON.stringify(b.ports ?? [])));
}

export async function runEndpointsController(ctx: ControllerContext): Promise<void> {
  const epType = ctx.registry.resource('', 'v1', 'endpoints');
  if (!epType) return;
  const log = ctx.log.child({ controller: 'endpoints' });
  const queue = new WorkQueue();
  ctx.signal.addEventListener('abort', () => queue.stop());
  const w = watchServiceBackends(ctx, queue, { rt: epType, serviceKey: (o) => `${o.metadata.namespace}/${o.metadata.name}` });
  await Promise.all([w.services.hasSynced, w.pods.hasSynced, w.instances?.hasSynced, w.ownedInformer.hasSynced]);

  const sync = async (key: string): Promise<void> => {
    const [ns, name] = key.split('/');
    const svc = w.services.cache.get(key) as Service | undefined;
    // A deleted Service's Endpoints go with it: the garbage collector follows their ownerReference.
    if (!svc || !managedService(svc)) return;
    const publishAll = svc.spec?.publishNotReadyAddresses === true;
    const subsets = subsetsFor(svc, backendsOf(svc, w, { includeTerminating: publishAll }));
    const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
    if (svc.spec?.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
    else delete labels[HEADLESS_LABEL];
    const owners = [ownerReference(svc)];
    const current = (await ctx.svc.tryGet(epType, ns, name))?.obj;
    if (!current) {
      const ep: KubeObject = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: ns, labels, ownerReferences: owners }, ...(subsets.length ? { subsets } : {}) };
      await ctx.svc.create(epType, ns, ep, controllerWrite(MANAGER));
      return;
    }
    const unchanged =
      sameJson(current.subsets ?? [], subsets) &&
      sameJson(current.metadata.labels ?? {}, labels) &&
      sameJson(current.metadata.ownerReferences ?? [], owners);
    if (unchanged) return;
    const next: KubeObject = { ...current, metadata: { ...current.metadata, labels, ownerReferences: owners } };
    if (subsets.length) next.subsets = subsets;
    else delete next.subsets;
    // Pinned to the read resourceVersion: a concurrent writer makes this fail and the key is synced again.
    await ctx.svc.update(epType, ns, name, next, controllerWrite(MANAGER));
  };
  await queue.run(sync, (key, err) => log.warn('endpoints sync failed', { service: key, error: (err as Error).message }), 2);
}
