// Wires LimitRange and ResourceQuota admission into the API's write path:
// LimitRange first (its defaults are what quota charges), quota last, for
// every namespaced kind a quota can count.
import type { ResourceService } from '../../resources/resource-service.js';
import type { Store } from '../../../store/store.js';
import { LimitRanger } from './limit-ranger.js';
import { QuotaAdmission } from './quota-admission.js';

/** Kinds never charged: the quota objects themselves and the control plane's own high-rate bookkeeping. */
const UNCOUNTED = new Set(['/resourcequotas', '/limitranges', '/events', '/endpoints', 'coordination.k8s.io/leases', 'discovery.k8s.io/endpointslices', 'events.k8s.io/events']);

export function installQuotaAdmission(service: ResourceService, store: Store): QuotaAdmission {
  const registry = service.registry;
  const limits = new LimitRanger(store, registry);
  const quota = new QuotaAdmission(store, registry);
  for (const rt of registry.kinds) {
    if (!rt.namespaced || UNCOUNTED.has(`${rt.group}/${rt.plural}`)) continue;
    if ((rt.group === '' && (rt.plural === 'pods' || rt.plural === 'persistentvolumeclaims')) || (rt.group === 'lodge.dev' && rt.plural === 'instances'))
      service.useAllocator(rt, limits.for(rt));
    service.useAllocator(rt, quota.for(rt));
  }
  return quota;
}
