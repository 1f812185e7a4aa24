// The DaemonSet side of `lodge rollout`, as kubectl has it: status reads the
// counts the controller writes (DaemonSetStatusViewer), history lists the
// ControllerRevisions the DaemonSet controls, and undo sends the chosen
// revision's data — a strategic merge patch that replaces the template —
// back to the DaemonSet (DaemonSetRollbacker).
import type { KubeList } from '../client/client.js';
import type { KubeObject } from '../apis/types.js';
import type { LabelSelector } from '../apis/core/v1/types.js';
import { formatSelector } from '../apis/core/v1/label-selector.js';
import { jsonEqual } from '../apis/core/v1/equality.js';
import type { CliContext } from './context.js';
import type { WorkloadTarget } from './workload-target.js';

const CHANGE_CAUSE = 'kubernetes.io/change-cause';

export type DaemonSetView = KubeObject & {
  spec?: { selector?: LabelSelector; template?: unknown; updateStrategy?: { type?: string } };
  status?: { observedGeneration?: number; desiredNumberScheduled?: number; updatedNumberScheduled?: number; numberAvailable?: number };
};
type Revision = KubeObject & { data?: { spec?: { template?: Record<string, unknown> } }; revision?: number };

/** kubectl's DaemonSetStatusViewer: a message, and whether the rollout is done. Throws for OnDelete, which has no rollout to follow. */
export function daemonSetRolloutStatus(ds: DaemonSetView): { message: string; done: boolean } {
  const name = ds.metadata.name;
  if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') throw new Error('rollout status is only available for RollingUpdate strategy type');
  const s = ds.status ?? {};
  if ((ds.metadata.generation ?? 0) > (s.observedGeneration ?? 0)) return { message: 'Waiting for daemon set spec update to be observed...', done: false };
  const want = s.desiredNumberScheduled ?? 0;
  const updated = s.updatedNumberScheduled ?? 0;
  if (updated < want) return { message: `Waiting for daemon set "${name}" rollout to finish: ${updated} out of ${want} new pods have been updated...`, done: false };
  if ((s.numberAvailable ?? 0) < want) return { message: `Waiting for daemon set "${name}" rollout to finish: ${s.numberAvailable ?? 0} of ${want} updated pods are available...`, done: false };
  return { message: `daemon set "${name}" successfully rolled out`, done: true };
}

/** The DaemonSet and the revisions it controls, oldest first (kubectl's controlledHistories). */
async function revisionsOf(ctx: CliContext, t: WorkloadTarget): Promise<{ ds: DaemonSetView; revisions: Revision[] }> {
  const ds = await ctx.client.get<DaemonSetView>(t.ref, t.name, { namespace: ctx.namespace });
  const ref = await ctx.resolve('controllerrevisions.apps');
  const list = await ctx.client.list<KubeList>(ref, { namespace: ctx.namespace, labelSelector: formatSelector(ds.spec?.selector) });
  const revisions = (list.items as Revision[])
    .filter((r) => r.metadata.ownerReferences?.some((o) => o.controller && o.uid === ds.metadata.uid))
    .sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
  return { ds, revisions };
}

const templateOf = (r: Revision): Record<string, unknown> => {
  const { $patch: _directive, ...template } = r.data?.spec?.template ?? {};
  return template;
};

export async function daemonSetHistory(ctx: CliContext, t: WorkloadTarget, revision?: number): Promise<void> {
  const { revisions } = await revisionsOf(ctx, t);
  if (revision !== undefined) {
    const r = revisions.find((x) => x.revision === revision);
    if (!r) throw new Error(`unable to find the specified revision`);
    process.stdout.write(`${t.label} with revision #${revision}\n${JSON.stringify(templateOf(r), null, 2)}\n`);
    return;
  }
  process.stdout.write(`${t.label} \nREVISION  CHANGE-CAUSE\n`);
  for (const r of revisions) process.stdout.write(`${String(r.revision ?? 0).padEnd(10)}${r.metadata.annotations?.[CHANGE_CAUSE] ?? '<none>'}\n`);
}

/** toRevision 0: the revision before the newest. */
export async function daemonSetUndo(ctx: CliContext, t: WorkloadTarget, toRevision: number): Promise<void> {
  const { ds, revisions } = await revisionsOf(ctx, t);
  if (toRevision === 0 && revisions.length <= 1) throw new Error('no last revision to roll back to');
  const target = toRevision === 0 ? revisions[revisions.length - 2] : revisions.find((r) => r.revision === toRevision);
  if (!target) throw new Error(`unable to find specified revision ${toRevision} in history`);
  if (jsonEqual(templateOf(target), ds.spec?.template)) {
    process.stdout.write(`${t.label} skipped rollback (current template already matches revision ${target.revision ?? 0})\n`);
    return;
  }
  await ctx.client.patch(t.ref, t.name, target.data, 'application/strategic-merge-patch+json', { namespace: ctx.namespace });
  process.stdout.write(`${t.label} rolled back\n`);
}
