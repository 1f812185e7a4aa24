// How the node agent names what its events are about, as the kubelet does:
// the Pod (its kind and apiVersion set even when a list item came without
// them) and, for one container, the fieldPath spec.containers{NAME} or
// spec.initContainers{NAME}.
import type { KubeObject } from '../apis/types.js';

export function asPod(pod: KubeObject): KubeObject {
  return pod.kind === 'Pod' && pod.apiVersion === 'v1' ? pod : { ...pod, apiVersion: 'v1', kind: 'Pod' };
}

/** Container names are unique across a Pod's init and app containers (validation), so the name tells which list. */
export function containerFieldPath(pod: KubeObject, container: string): string {
  const inits = (pod.spec?.initContainers as Array<{ name?: string }> | undefined) ?? [];
  return inits.some((c) => c.name === container) ? `spec.initContainers{${container}}` : `spec.containers{${container}}`;
}
