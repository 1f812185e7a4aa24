// What every cluster has from its first start: its namespaces and the cluster DNS Service.
import type { ResourceService } from '../api/resources/resource-service.js';
import type { KubeObject } from '../apis/types.js';
import type { Logger } from '../util/log.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function bootstrapNamespaces(svc: ResourceService): Promise<void> {
  const nsType = svc.registry.resource('', 'v1', 'namespaces');
  if (!nsType) throw new Error('the Namespace kind is not registered');
  for (const name of SYSTEM_NAMESPACES) {
    if (await svc.tryGet(nsType, undefined, name)) continue;
    try {
      await svc.create(nsType, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { manager: 'lodge', fieldValidation: 'Strict', dryRun: false, warnings: [] });
    } catch (e) {
      if ((e as { code?: number }).code !== 409) throw e;
    }
  }
}

export const CLUSTER_DNS_SERVICE = { namespace: 'kube-system', name: 'kube-dns' };

/**
 * The cluster DNS Service, as kubeadm makes it for CoreDNS: kube-system/kube-dns
 * on the 10th address of the service range, DNS over UDP and TCP on 53. It has
 * no selector: each node agent serves DNS itself and publishes its own
 * EndpointSlice for it. The address goes through the allocator like any
 * requested one, so nothing else can hold it; a Service already there is
 * left as it is (an operator may have changed it).
 */
export async function bootstrapClusterDnsService(svc: ResourceService, clusterIP: string, log: Logger): Promise<void> {
  const rt = svc.registry.resource('', 'v1', 'services');
  if (!rt) throw new Error('the Service kind is not registered');
  const { namespace, name } = CLUSTER_DNS_SERVICE;
  if (await svc.tryGet(rt, namespace, name)) return;
  const body = (ip: string | undefined): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' } },
    spec: {
      type: 'ClusterIP',
      ...(ip ? { clusterIP: ip } : {}),
      ports: [
        { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 },
        { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53 },
      ],
    },
  });
  const opts = { manager: 'lodge', fieldValidation: 'Strict' as const, dryRun: false, warnings: [] };
  try {
    await svc.create(rt, namespace, body(clusterIP), opts);
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (code === 409) return;
    if (code !== 422) throw e;
    // The address is someone else's (a Service made before this existed): any address works, workloads read it from the Service.
    log.warn('the cluster DNS address is taken; kube-dns gets another', { wanted: clusterIP, error: (e as Error).message });
    await svc.create(rt, namespace, body(undefined), opts);
  }
}
