// Which Pods of a node `lodge drain` evicts, skips or refuses to touch:
// kubectl drain's filters (k8s.io/kubectl/pkg/drain/filters.go) with their
// wording, so the messages read the same as kubectl's. Each Pod runs through
// the filters in order; the first that does not let it be deleted decides.
import { isPodTerminal } from '../../apis/core/v1/pod-status.js';
import type { Pod } from '../../apis/core/v1/types.js';

export const DAEMONSET_FATAL = 'DaemonSet-managed Pods (use --ignore-daemonsets to ignore)';
export const DAEMONSET_WARNING = 'ignoring DaemonSet-managed Pods';
export const LOCAL_STORAGE_FATAL = 'Pods with local storage (use --delete-emptydir-data to override)';
export const LOCAL_STORAGE_WARNING = 'deleting Pods with local storage';
export const UNMANAGED_FATAL = 'Pods that declare no controller (use --force to override)';
export const UNMANAGED_WARNING = 'deleting Pods that declare no controller';
export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

export interface FilterOptions {
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
  force: boolean;
}

/** What to do with a Pod: delete it (maybe with a warning), skip it (maybe with a warning), or refuse the drain. */
export interface PodDeleteStatus {
  delete: boolean;
  warning?: string;
  error?: string;
}

export interface PodDelete {
  pod: Pod;
  status: PodDeleteStatus;
}

const OKAY: PodDeleteStatus = { delete: true };

/** Whether the DaemonSet named by a Pod's controller reference exists (an orphan may be deleted with --force). */
export type DaemonSetLookup = (namespace: string, name: string) => Promise<'found' | 'not-found'>;

const controllerOf = (pod: Pod) => pod.metadata.ownerReferences?.find((r) => r.controller === true);
const hasLocalStorage = (pod: Pod): boolean => (pod.spec?.volumes ?? []).some((v) => (v as { emptyDir?: unknown }).emptyDir != null);
export const podKey = (pod: Pod): string => `${pod.metadata.namespace}/${pod.metadata.name}`;

async function daemonSetFilter(pod: Pod, o: FilterOptions, lookup: DaemonSetLookup): Promise<PodDeleteStatus> {
  const ref = controllerOf(pod);
  if (!ref || ref.kind !== 'DaemonSet') return OKAY;
  // A finished Pod can be removed, whoever made it.
  if (isPodTerminal(pod)) return OKAY;
  if ((await lookup(pod.metadata.namespace ?? '', ref.name)) === 'not-found') {
    // An orphan: deleted with a warning when forced.
    const msg = `daemonsets.apps "${ref.name}" not found`;
    return o.force ? { delete: true, warning: msg } : { delete: false, error: msg };
  }
  if (!o.ignoreDaemonSets) return { delete: false, error: DAEMONSET_FATAL };
  return { delete: false, warning: DAEMONSET_WARNING };
}

function mirrorPodFilter(pod: Pod): PodDeleteStatus {
  return pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined ? { delete: false } : OKAY;
}

function localStorageFilter(pod: Pod, o: FilterOptions): PodDeleteStatus {
  if (!hasLocalStorage(pod) || isPodTerminal(pod)) return OKAY;
  if (!o.deleteEmptyDirData) return { delete: false, error: LOCAL_STORAGE_FATAL };
  return { delete: true, warning: LOCAL_STORAGE_WARNING };
}

function unreplicatedFilter(pod: Pod, o: FilterOptions): PodDeleteStatus {
  if (isPodTerminal(pod) || controllerOf(pod)) return OKAY;
  if (o.force) return { delete: true, warning: UNMANAGED_WARNING };
  return { delete: false, error: UNMANAGED_FATAL };
}

/** Run every Pod through the filters. */
export async function podsForDeletion(pods: Pod[], o: FilterOptions, lookup: DaemonSetLookup): Promise<PodDelete[]> {
  const out: PodDelete[] = [];
  for (const pod of pods) {
    const filters: Array<() => PodDeleteStatus | Promise<PodDeleteStatus>> = [
      () => daemonSetFilter(pod, o, lookup),
      () => mirrorPodFilter(pod),
      () => localStorageFilter(pod, o),
      () => unreplicatedFilter(pod, o),
    ];
    // The last filter's verdict decides; unlike kubectl (a known TODO there), a
    // warning of an earlier filter that let the Pod through is kept, not lost.
    let status: PodDeleteStatus = OKAY;
    let warning: string | undefined;
    for (const f of filters) {
      status = await f();
      if (!status.delete) break;
      warning ??= status.warning;
    }
    if (status.delete && !status.warning && warning) status = { ...status, warning };
    out.push({ pod, status });
  }
  return out;
}

/** Group "message: ns/a, ns/b" in the order the messages first appear. */
function grouped(list: PodDelete[], pick: (s: PodDeleteStatus) => string | undefined): Array<[string, string[]]> {
  const groups = new Map<string, string[]>();
  for (const { pod, status } of list) {
    const msg = pick(status);
    if (msg === undefined) continue;
    groups.set(msg, [...(groups.get(msg) ?? []), podKey(pod)]);
  }
  return [...groups];
}

/** kubectl's refusals: "cannot delete MESSAGE: ns/a, ns/b", one per message. */
export function deletionErrors(list: PodDelete[]): string[] {
  return grouped(list, (s) => s.error).map(([msg, pods]) => `cannot delete ${msg}: ${pods.join(', ')}`);
}

/** kubectl's warning line (printed after "Warning: "), or "" when there is none. */
export function deletionWarnings(list: PodDelete[]): string {
  return grouped(list, (s) => s.warning).map(([msg, pods]) => `${msg}: ${pods.join(', ')}`).join('; ');
}

/** The Pods to evict or delete. */
export const podsToDelete = (list: PodDelete[]): Pod[] => list.filter((p) => p.status.delete).map((p) => p.pod);
