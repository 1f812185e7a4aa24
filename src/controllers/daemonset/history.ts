// A DaemonSet's history, as Kubernetes keeps it: one ControllerRevision per
// distinct template, named NAME-<hash>, whose data is the strategic merge
// patch that puts that template back ({"spec":{"template":{…,"$patch":
// "replace"}}}) — kubectl's `rollout undo` sends exactly that data as its
// patch, and `rollout history --revision` applies it to show the template.
import type { DaemonSet } from '../../apis/apps/v1/daemonset.js';
import type { ControllerRevision } from '../../apis/apps/v1/controllerrevision.js';
import type { PodTemplateSpec } from '../../apis/core/v1/types.js';
import { jsonEqual } from '../../apis/core/v1/equality.js';
import { HASH_LABEL } from './daemon-pod.js';

/** Kubernetes keeps names within 253 characters: the DaemonSet's name is cut to leave room for "-<hash>". */
const NAME_PREFIX_MAX = 223;

export function revisionName(dsName: string, hash: string): string {
  return `${dsName.slice(0, NAME_PREFIX_MAX)}-${hash}`;
}

export function revisionData(ds: DaemonSet): { spec: { template: PodTemplateSpec & { $patch: 'replace' } } } {
  return { spec: { template: { ...structuredClone(ds.spec?.template ?? {}), $patch: 'replace' } } };
}

/** The template a revision holds (its data without the patch directive). */
export function templateOf(r: ControllerRevision): PodTemplateSpec | undefined {
  const t = (r.data as { spec?: { template?: Record<string, unknown> } } | undefined)?.spec?.template;
  if (!t) return undefined;
  const { $patch: _directive, ...template } = t;
  return template as PodTemplateSpec;
}

/** The revision holds the DaemonSet's current template. */
export function isCurrent(ds: DaemonSet, r: ControllerRevision): boolean {
  return jsonEqual(templateOf(r), ds.spec?.template ?? {});
}

export const revisionNumber = (r: ControllerRevision): number => r.revision ?? 0;
export const maxRevision = (list: ControllerRevision[]): number => list.reduce((m, r) => Math.max(m, revisionNumber(r)), 0);

/** Old revisions beyond the limit, oldest first, never one whose Pods still run (Kubernetes' cleanupHistory). */
export function revisionsToPrune(old: ControllerRevision[], limit: number, liveHashes: Set<string>): ControllerRevision[] {
  let excess = old.length - limit;
  const out: ControllerRevision[] = [];
  for (const r of [...old].sort((a, b) => revisionNumber(a) - revisionNumber(b))) {
    if (excess <= 0) break;
    if (liveHashes.has(r.metadata.labels?.[HASH_LABEL] ?? '')) continue;
    out.push(r);
    excess--;
  }
  return out;
}
