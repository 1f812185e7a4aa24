// The namespaces every cluster has from its first start.
import type { ResourceService } from '../api/resources/resource-service.js';

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
