// The Pod a DaemonSet runs on a node, as Kubernetes makes it: the template
// with the revision labels, the daemon tolerations (a node's trouble must not
// evict or keep out its daemons), and a required node affinity naming the
// node by metadata.name, so the scheduler binds it there and nowhere else.
// Which node a daemon Pod belongs to is read back from the same places.
import type { DaemonSet } from '../../apis/apps/v1/daemonset.js';
import type { Pod, PodSpec, PodTemplateSpec, Toleration } from '../../apis/core/v1/types.js';
import type { NodeAffinity, NodeSelectorTerm } from './node-fit.js';

/** The ControllerRevision a Pod was made from (its hash), on Pods and revisions alike. */
export const HASH_LABEL = 'controller-revision-hash';
/** The DaemonSet generation a Pod was made at. */
export const GENERATION_LABEL = 'pod-template-generation';

const NAME_FIELD = 'metadata.name';

/** Kubernetes' AddOrUpdateDaemonPodTolerations, in its order. Without tolerationSeconds: tolerated for ever. */
function daemonTolerations(hostNetwork: boolean): Toleration[] {
  const t = (key: string, effect: string): Toleration => ({ key: `node.kubernetes.io/${key}`, operator: 'Exists', effect });
  return [
    t('not-ready', 'NoExecute'),
    t('unreachable', 'NoExecute'),
    t('disk-pressure', 'NoSchedule'),
    t('memory-pressure', 'NoSchedule'),
    t('pid-pressure', 'NoSchedule'),
    t('unschedulable', 'NoSchedule'),
    ...(hostNetwork ? [t('network-unavailable', 'NoSchedule')] : []),
  ];
}

const sameToleration = (a: Toleration, b: Toleration): boolean =>
  (a.key ?? '') === (b.key ?? '') && (a.operator ?? 'Equal') === (b.operator ?? 'Equal') && (a.value ?? '') === (b.value ?? '') && (a.effect ?? '') === (b.effect ?? '');

/** Adds each daemon toleration, replacing one the template already has for the same taint (its tolerationSeconds goes). */
function withDaemonTolerations(spec: PodSpec): PodSpec {
  const tolerations = [...(spec.tolerations ?? [])];
  for (const d of daemonTolerations(spec.hostNetwork === true)) {
    const i = tolerations.findIndex((t) => sameToleration(t, d));
    if (i >= 0) tolerations[i] = d;
    else tolerations.push(d);
  }
  return { ...spec, tolerations };
}

/** The template every daemon Pod of this revision starts from. */
export function daemonPodTemplate(ds: DaemonSet, hash: string): PodTemplateSpec {
  const t = structuredClone(ds.spec?.template ?? {});
  t.metadata = { ...t.metadata, labels: { ...t.metadata?.labels, [HASH_LABEL]: hash, [GENERATION_LABEL]: String(ds.metadata.generation ?? 1) } };
  t.spec = withDaemonTolerations(t.spec ?? {});
  return t;
}

/**
 * The node affinity of the Pod for `node`: its required terms become one
 * matchFields term naming the node (Kubernetes' ReplaceDaemonSetPodNodeNameNodeAffinity;
 * the controller already checked the old terms against the node), preferred terms stay.
 */
export function pinnedToNode(spec: PodSpec, node: string): PodSpec {
  const term: NodeSelectorTerm = { matchFields: [{ key: NAME_FIELD, operator: 'In', values: [node] }] };
  const affinity = { ...spec.affinity };
  const nodeAffinity: NodeAffinity = { ...(affinity.nodeAffinity as NodeAffinity | undefined) };
  nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [term] };
  affinity.nodeAffinity = nodeAffinity;
  return { ...spec, affinity };
}

/** The node a daemon Pod runs on or is meant for: its nodeName, else the node its matchFields term names (Kubernetes' GetTargetNodeName). */
export function targetNode(p: Pod): string | undefined {
  if (p.spec?.nodeName) return p.spec.nodeName;
  const terms = (p.spec?.affinity?.nodeAffinity as NodeAffinity | undefined)?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms)
    for (const f of t.matchFields ?? []) if (f.key === NAME_FIELD && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  return undefined;
}
