// The Kubernetes API client every Lodge component uses.
import { KubeClient } from './client.js';
import { loadKubeconfig, type LoadKubeconfigOptions } from './kubeconfig.js';

export {
  KubeClient,
  TABLE_ACCEPT,
  type KubeList,
  type WatchEvent,
  type RequestOptions,
  type RawResponse,
  type ReadOptions,
  type ListOptions,
  type WriteOptions,
  type PatchOptions,
  type PatchType,
  type DeleteOptions,
  type WatchOptions,
} from './client.js';
export type { ClientConfig } from './config.js';
export { Discovery, matchResource, type DiscoveredResource } from './discovery.js';
export { ApiError, isStatus, isNotFound, isConflict, isAlreadyExists, isGone, type Status, type StatusDetails, type StatusCause } from './errors.js';
export { parseJsonLines } from './json-lines.js';
export { writeKubeconfig, loadKubeconfig, locateKubeconfig, parseKubeconfig, type KubeconfigSpec, type LoadKubeconfigOptions } from './kubeconfig.js';
export { resourcePath, groupVersionPath, apiVersionOfRef, queryString, type ResourceRef, type PathOptions } from './paths.js';

/** A client for the cluster the kubeconfig (found as kubectl would) points at. */
export async function clientFromKubeconfig(opts: LoadKubeconfigOptions & { timeoutMs?: number } = {}): Promise<KubeClient> {
  const config = await loadKubeconfig(opts);
  return new KubeClient({ ...config, timeoutMs: opts.timeoutMs ?? config.timeoutMs });
}
