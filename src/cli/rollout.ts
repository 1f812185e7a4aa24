// `lodge rollout status|history|undo|restart|pause|resume deployment/NAME`
// (status, history, undo and restart also for daemonset/NAME), the client
// side of rollouts as kubectl has it: the server only ever sees edits of the
// workload (undo copies an old revision's template back, restart stamps the
// template), and status reads what the controller wrote.
import type { Command } from 'commander';
import type { KubeList } from '../client/client.js';
import type { KubeObject } from '../apis/types.js';
import { withContext, type CliContext } from './context.js';
import { parseDuration } from './duration.js';
import { daemonSetHistory, daemonSetRolloutStatus, daemonSetUndo, type DaemonSetView } from './rollout-daemonset.js';
import { workloadTarget, type WorkloadTarget } from './workload-target.js';

const REVISION = 'deployment.kubernetes.io/revision';
const CHANGE_CAUSE = 'kubernetes.io/change-cause';
const HASH_LABEL = 'pod-template-hash';

type Dep = KubeObject & {
  spec?: { replicas?: number; template?: Record<string, unknown>; paused?: boolean };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number; conditions?: Array<{ type?: string; reason?: string }> };
};

/** kubectl's DeploymentStatusViewer: a message, and whether the rollout is done. Throws when it failed. */
export function rolloutStatus(d: Dep): { message: string; done: boolean } {
  const name = d.metadata.name;
  const s = d.status ?? {};
  if ((d.metadata.generation ?? 0) > (s.observedGeneration ?? 0)) return { message: 'Waiting for deployment spec update to be observed...', done: false };
  if (s.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded')) throw new Error(`deployment "${name}" exceeded its progress deadline`);
  const want = d.spec?.replicas ?? 1;
  const updated = s.updatedReplicas ?? 0;
  if (updated < want) return { message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${want} new replicas have been updated...`, done: false };
  if ((s.replicas ?? 0) > updated) return { message: `Waiting for deployment "${name}" rollout to finish: ${(s.replicas ?? 0) - updated} old replicas are pending termination...`, done: false };
  if ((s.availableReplicas ?? 0) < updated) return { message: `Waiting for deployment "${name}" rollout to finish: ${s.availableReplicas ?? 0} of ${updated} updated replicas are available...`, done: false };
  return { message: `deployment "${name}" successfully rolled out`, done: true };
}

async function replicaSetsOf(ctx: CliContext, d: Dep): Promise<KubeObject[]> {
  const rsRef = await ctx.resolve('replicasets.apps');
  const list = await ctx.client.list<KubeList>(rsRef, { namespace: ctx.namespace });
  return list.items.filter((rs) => rs.metadata.ownerReferences?.some((r) => r.controller && r.uid === d.metadata.uid));
}

const revisionOf = (rs: KubeObject): number => Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;

const isDaemonSet = (t: WorkloadTarget): boolean => t.ref.kind === 'DaemonSet';

async function status(ctx: CliContext, t: WorkloadTarget, timeoutMs: number): Promise<void> {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  let last = '';
  for (;;) {
    const d = await ctx.client.get<Dep>(t.ref, t.name, { namespace: ctx.namespace });
    const r = isDaemonSet(t) ? daemonSetRolloutStatus(d as DaemonSetView) : rolloutStatus(d);
    if (r.message !== last) process.stdout.write(`${r.message}\n`);
    last = r.message;
    if (r.done) return;
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error('timed out waiting for the condition');
    // Wait for the next change of this workload (bounded, so a quiet watch is re-checked).
    const signal = AbortSignal.timeout(Math.min(remaining, 30_000));
    try {
      for await (const ev of ctx.client.watch<Dep>(t.ref, { namespace: ctx.namespace, fieldSelector: `metadata.name=${t.name}`, resourceVersion: d.metadata.resourceVersion, signal })) {
        if (ev.type === 'MODIFIED' || ev.type === 'ERROR' || ev.type === 'DELETED') break;
      }
    } catch (e) {
      if (!signal.aborted) throw e;
    }
  }
}

async function history(ctx: CliContext, t: WorkloadTarget, revision?: number): Promise<void> {
  if (isDaemonSet(t)) return daemonSetHistory(ctx, t, revision);
  const d = await ctx.client.get<Dep>(t.ref, t.name, { namespace: ctx.namespace });
  const sets = (await replicaSetsOf(ctx, d)).sort((a, b) => revisionOf(a) - revisionOf(b));
  if (revision !== undefined) {
    const rs = sets.find((x) => revisionOf(x) === revision);
    if (!rs) throw new Error(`unable to find the specified revision`);
    process.stdout.write(`${t.label} with revision #${revision}\n${JSON.stringify((rs.spec as { template?: unknown }).template, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${t.label} \nREVISION  CHANGE-CAUSE\n`);
  for (const rs of sets) process.stdout.write(`${String(revisionOf(rs)).padEnd(10)}${rs.metadata.annotations?.[CHANGE_CAUSE] ?? '<none>'}\n`);
}

/** kubectl's rollback: the template of the ReplicaSet at the revision (default: the one before the current) becomes the Deployment's. */
async function undo(ctx: CliContext, t: WorkloadTarget, toRevision: number): Promise<void> {
  if (isDaemonSet(t)) return daemonSetUndo(ctx, t, toRevision);
  const d = await ctx.client.get<Dep>(t.ref, t.name, { namespace: ctx.namespace });
  if (d.spec?.paused) throw new Error(`you cannot rollback a paused deployment; resume it first with 'lodge rollout resume ${t.label}' and try again`);
  const sets = (await replicaSetsOf(ctx, d)).sort((a, b) => revisionOf(b) - revisionOf(a));
  const target = toRevision > 0 ? sets.find((rs) => revisionOf(rs) === toRevision) : sets[1];
  if (!target) throw new Error(toRevision > 0 ? `unable to find specified revision ${toRevision} in history` : 'no rollout history found for deployment');
  const template = structuredClone((target.spec as { template?: { metadata?: { labels?: Record<string, string> } } }).template ?? {});
  if (template.metadata?.labels) delete template.metadata.labels[HASH_LABEL];
  const patch = [
    { op: 'replace', path: '/spec/template', value: template },
  ];
  await ctx.client.patch(t.ref, t.name, patch, 'application/json-patch+json', { namespace: ctx.namespace });
  process.stdout.write(`${t.label} rolled back\n`);
}

async function mergePatch(ctx: CliContext, t: WorkloadTarget, patch: unknown, verb: string): Promise<void> {
  await ctx.client.patch(t.ref, t.name, patch, 'application/merge-patch+json', { namespace: ctx.namespace });
  process.stdout.write(`${t.label} ${verb}\n`);
}

export function registerRollout(program: Command): void {
  const rollout = program.command('rollout').description('Manage the rollout of a Deployment or DaemonSet: status, history, undo, restart (pause, resume: Deployments)');
  const target = async (ctx: CliContext, args: string[]): Promise<WorkloadTarget> => workloadTarget(ctx, args, ['Deployment', 'DaemonSet']);
  const deploymentOnly = async (ctx: CliContext, args: string[]): Promise<WorkloadTarget> => workloadTarget(ctx, args, ['Deployment']);
  rollout
    .command('status')
    .description('Follow a rollout until it completes (fails when its progress deadline is exceeded)')
    .argument('<target...>', 'deployment/NAME or daemonset/NAME')
    .option('--timeout <duration>', 'give up after this long, e.g. 2m (0 = no limit)', '0')
    .action(async (args: string[], opts: { timeout: string }, cmd: Command) => {
      await withContext(cmd, async (ctx) => status(ctx, await target(ctx, args), parseDuration(opts.timeout)));
    });
  rollout
    .command('history')
    .description('List the revisions of a Deployment (its ReplicaSets) or DaemonSet (its ControllerRevisions) with their change-cause')
    .argument('<target...>', 'deployment/NAME or daemonset/NAME')
    .option('--revision <n>', 'show the pod template of one revision')
    .action(async (args: string[], opts: { revision?: string }, cmd: Command) => {
      await withContext(cmd, async (ctx) => history(ctx, await target(ctx, args), opts.revision === undefined ? undefined : Number(opts.revision)));
    });
  rollout
    .command('undo')
    .description('Roll back to the previous revision (or --to-revision)')
    .argument('<target...>', 'deployment/NAME or daemonset/NAME')
    .option('--to-revision <n>', 'the revision to roll back to (0 = the previous one)', '0')
    .action(async (args: string[], opts: { toRevision: string }, cmd: Command) => {
      await withContext(cmd, async (ctx) => undo(ctx, await target(ctx, args), Number(opts.toRevision)));
    });
  rollout
    .command('restart')
    .description('Replace every Pod by a rolling update (stamps the template with the time)')
    .argument('<target...>', 'deployment/NAME or daemonset/NAME')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) =>
        mergePatch(ctx, await target(ctx, args), { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } }, 'restarted'),
      );
    });
  for (const [verb, paused] of [['pause', true], ['resume', false]] as const) {
    rollout
      .command(verb)
      .description(paused ? 'Stop rolling out template changes' : 'Roll out again after a pause')
      .argument('<target...>', 'deployment/NAME')
      .action(async (args: string[], _o: unknown, cmd: Command) => {
        await withContext(cmd, async (ctx) => mergePatch(ctx, await deploymentOnly(ctx, args), { spec: { paused } }, paused ? 'paused' : 'resumed'));
      });
  }
}
