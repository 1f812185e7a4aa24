// A Job's Pods: how they are made from its template, and how the controller
// sorts the ones it owns (active, succeeded, failed, terminating).
import type { KubeObject } from '../../apis/types.js';
import type { Pod } from '../../apis/core/v1/types.js';
import { COMPLETION_INDEX_ANNOTATION, type Job } from '../../apis/batch/v1/names.js';

export const JOB_API_VERSION = 'batch/v1';

/** The uid of the Job that controls a Pod, from its controller ownerReference. */
export function controllingJob(o: KubeObject): { name: string; uid: string } | undefined {
  const r = o.metadata.ownerReferences?.find((ref) => ref.controller === true && ref.kind === 'Job' && ref.apiVersion === JOB_API_VERSION);
  return r ? { name: r.name, uid: r.uid } : undefined;
}

const isTerminal = (p: Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export interface SortedPods {
  /** Pending or running, not being deleted. */
  active: Pod[];
  succeeded: Pod[];
  failed: Pod[];
  /** Being deleted before they finished: neither active nor counted. */
  terminating: Pod[];
}

export function sortPods(pods: Pod[]): SortedPods {
  const s: SortedPods = { active: [], succeeded: [], failed: [], terminating: [] };
  for (const p of pods) {
    if (p.status?.phase === 'Succeeded') s.succeeded.push(p);
    else if (p.status?.phase === 'Failed') s.failed.push(p);
    else if (p.metadata.deletionTimestamp) s.terminating.push(p);
    else s.active.push(p);
  }
  return s;
}

export const isReady = (p: Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** Container restarts of an active Pod: with restartPolicy OnFailure each is a failure the backoffLimit counts. */
export const restarts = (p: Pod): number => (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);

/** When a finished Pod finished: its containers' latest finishedAt, else its creation. */
export function finishedAt(p: Pod): number {
  let t = Number.NaN;
  for (const c of p.status?.containerStatuses ?? []) {
    const f = Date.parse(c.state?.terminated?.finishedAt ?? '');
    if (!Number.isNaN(f) && !(f <= t)) t = f;
  }
  return Number.isNaN(t) ? Date.parse(String(p.metadata.creationTimestamp)) : t;
}

/** An Indexed Job's Pod's index; undefined when absent or out of range. */
export function podIndex(p: Pod, completions: number): number | undefined {
  const v = p.metadata.annotations?.[COMPLETION_INDEX_ANNOTATION];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  const i = Number(v);
  return i < completions ? i : undefined;
}

/** "0-2,5": the indexes as Kubernetes writes status.completedIndexes. */
export function formatIndexes(indexes: number[]): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** A new Pod of the Job: its template, owned by the Job (so the garbage collector removes it with the Job). */
export function podFor(job: Job, index: number | undefined): KubeObject {
  const template = structuredClone(job.spec?.template ?? {});
  const name = String(job.metadata.name);
  const labels = { ...(template.metadata?.labels ?? {}) };
  const annotations = { ...(template.metadata?.annotations ?? {}) };
  const spec = template.spec ?? {};
  if (index !== undefined) {
    annotations[COMPLETION_INDEX_ANNOTATION] = String(index);
    labels[COMPLETION_INDEX_ANNOTATION] = String(index);
    // The index reaches the program as Kubernetes hands it: an environment variable in every container.
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      c.env = [...(c.env ?? []).filter((e) => e.name !== 'JOB_COMPLETION_INDEX'), { name: 'JOB_COMPLETION_INDEX', value: String(index) }];
    }
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: index === undefined ? `${name}-` : `${name}-${index}-`,
      namespace: job.metadata.namespace,
      labels,
      ...(Object.keys(annotations).length ? { annotations } : {}),
      ownerReferences: [{ apiVersion: JOB_API_VERSION, kind: 'Job', name, uid: String(job.metadata.uid), controller: true, blockOwnerDeletion: true }],
    },
    spec,
  };
}
