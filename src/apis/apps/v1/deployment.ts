// Deployment: declarative rollouts of a replicated pod template through
// ReplicaSets.
import { ageColumn, column } from '../../columns.js';
import { bool, int32, intOrString, obj, enumOf, arr, ref, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { forbidden, intOrPercent, invalid, nonNegative } from '../../core/v1/field-errors.js';
import { coreRef } from '../../core/v1/names.js';
import { withDefault } from '../../core/v1/names.js';
import { kindDefinition, labelSelector } from '../../meta/v1.js';
import {
  applyTemplateDefaults,
  apps,
  appsGVK,
  describeTemplate,
  observedGeneration,
  replicaCount,
  validateWorkload,
  workloadCondition,
  workloadWideColumns,
  type Workload,
  type WorkloadSpec,
} from './workload.js';

type IntOrString = number | string;
type DeploymentSpec = WorkloadSpec & {
  strategy?: { type?: string; rollingUpdate?: { maxUnavailable?: IntOrString; maxSurge?: IntOrString } };
  revisionHistoryLimit?: number;
  progressDeadlineSeconds?: number;
  paused?: boolean;
};
type Deployment = Workload<DeploymentSpec>;

const DEFAULT_PERCENT = '25%';

export const deploymentDefinitions: Record<string, Schema> = {
  [apps('RollingUpdateDeployment')]: obj(
    {
      maxUnavailable: { ...intOrString('Most pods that may be unavailable during the update: a number or a percentage of replicas (rounded down).'), default: DEFAULT_PERCENT },
      maxSurge: { ...intOrString('Most pods that may exist above the desired count during the update: a number or a percentage (rounded up).'), default: DEFAULT_PERCENT },
    },
    { description: 'Limits of a rolling update.' },
  ),
  [apps('DeploymentStrategy')]: obj(
    {
      type: withDefault(enumOf(['Recreate', 'RollingUpdate'], 'Recreate stops all old pods first; RollingUpdate replaces them gradually.'), 'RollingUpdate'),
      rollingUpdate: ref(apps('RollingUpdateDeployment'), 'Limits of the rolling update; only with type RollingUpdate.'),
    },
    { description: 'How old pods are replaced by new ones.' },
  ),
  [apps('DeploymentSpec')]: obj(
    {
      replicas: withDefault(int32('Desired number of pods.'), 1),
      selector: labelSelector('The pods this deployment manages; must match the template\'s labels and cannot change.'),
      template: coreRef('PodTemplateSpec', 'The pods to run; changing it starts a rollout.'),
      strategy: {
        ...ref(apps('DeploymentStrategy'), 'How pods are replaced during a rollout.'),
        default: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: DEFAULT_PERCENT, maxSurge: DEFAULT_PERCENT } },
      },
      minReadySeconds: int32('Seconds a new pod must be ready, without crashing, to count as available.'),
      revisionHistoryLimit: withDefault(int32('Old ReplicaSets kept for rollback.'), 10),
      paused: bool('Stop rolling out template changes until unpaused.'),
      progressDeadlineSeconds: withDefault(int32('Seconds a rollout may make no progress before it is reported as failed.'), 600),
    },
    { required: ['selector', 'template'], description: 'Desired state of a deployment.' },
  ),
  [apps('DeploymentCondition')]: workloadCondition('deployment', 'Available, Progressing or ReplicaFailure', { lastUpdateTime: true }),
  [apps('DeploymentStatus')]: obj(
    {
      observedGeneration: observedGeneration(),
      replicas: replicaCount('Pods of this deployment (old and new) that are not terminating.'),
      updatedReplicas: replicaCount('Pods running the current template.'),
      readyReplicas: replicaCount('Pods that are ready.'),
      availableReplicas: replicaCount('Pods ready for at least minReadySeconds.'),
      unavailableReplicas: replicaCount('Pods still needed to reach the desired count of available ones.'),
      terminatingReplicas: replicaCount('Pods being terminated.'),
      conditions: arr(ref(apps('DeploymentCondition')), { mergeKey: 'type', description: 'Current conditions of the deployment.' }),
      collisionCount: int32('Counts hash collisions of template names, to make new ReplicaSet names unique.'),
    },
    { description: 'Observed state of a deployment.' },
  ),
  [apps('Deployment')]: kindDefinition(appsGVK('Deployment'), 'Runs a replicated set of pods and rolls out changes to them.', {
    spec: ref(apps('DeploymentSpec'), 'Desired state of the deployment.'),
    status: ref(apps('DeploymentStatus'), 'Observed state of the deployment.'),
  }),
};

const asDeployment = (o: KubeObject): Deployment => o as Deployment;

function applyDeploymentDefaults(spec: DeploymentSpec | undefined): void {
  if (!spec) return;
  applyTemplateDefaults(spec);
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  spec.strategy ??= {};
  spec.strategy.type ??= 'RollingUpdate';
  if (spec.strategy.type === 'RollingUpdate') {
    spec.strategy.rollingUpdate ??= {};
    spec.strategy.rollingUpdate.maxUnavailable ??= DEFAULT_PERCENT;
    spec.strategy.rollingUpdate.maxSurge ??= DEFAULT_PERCENT;
  }
}

/** A count or a percentage: 2, "2", "25%". */
function validateDeployment(d: Deployment, old?: Deployment): FieldError[] {
  const spec = d.spec;
  const errs = validateWorkload(spec, old?.spec, 'deployment');
  if (!spec) return errs;
  errs.push(...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit));
  if (spec.progressDeadlineSeconds !== undefined) {
    errs.push(...nonNegative('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0))
      errs.push(invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
  }
  const strategy = spec.strategy;
  if (strategy?.type === 'Recreate' && strategy.rollingUpdate)
    errs.push(forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
  const ru = strategy?.rollingUpdate;
  if (ru && strategy?.type !== 'Recreate') {
    const unavailable = intOrPercent('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable, { max100: true });
    const surge = intOrPercent('spec.strategy.rollingUpdate.maxSurge', ru.maxSurge, { max100: false });
    errs.push(...unavailable.errors, ...surge.errors);
    // Unset is not zero here: the defaults (25%) apply.
    if (unavailable.zero === true && surge.zero === true)
      errs.push(invalid('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
  }
  return errs;
}

export const deployment: ResourceType = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  singular: 'deployment',
  shortNames: ['deploy'],
  categories: ['all'],
  namespaced: true,
  definition: apps('Deployment'),
  statusSubresource: true,
  scale: { specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas', labelSelectorPath: 'spec.selector' },
  strategicMergePatch: true,
  columns: [
    column('Ready', 'Ready pods out of desired.', (o) => `${asDeployment(o).status?.readyReplicas ?? 0}/${asDeployment(o).spec?.replicas ?? 1}`),
    column('Up-to-date', 'Pods running the current template.', (o) => asDeployment(o).status?.updatedReplicas ?? 0, { type: 'integer' }),
    column('Available', 'Pods available to users.', (o) => asDeployment(o).status?.availableReplicas ?? 0, { type: 'integer' }),
    ageColumn,
    ...workloadWideColumns,
  ],
  applyDefaults(o) {
    applyDeploymentDefaults(asDeployment(o).spec);
  },
  validate(o, old) {
    return validateDeployment(asDeployment(o), old && asDeployment(old));
  },
  describe(o) {
    const d = asDeployment(o);
    const st = d.status ?? {};
    const s = d.spec ?? {};
    const lines = [
      `Replicas:          ${s.replicas ?? 1} desired | ${st.updatedReplicas ?? 0} updated | ${st.replicas ?? 0} total | ${st.availableReplicas ?? 0} available | ${st.unavailableReplicas ?? 0} unavailable`,
      `StrategyType:      ${s.strategy?.type ?? 'RollingUpdate'}`,
      `MinReadySeconds:   ${s.minReadySeconds ?? 0}`,
    ];
    if (s.strategy?.rollingUpdate)
      lines.push(`RollingUpdateStrategy:  ${s.strategy.rollingUpdate.maxUnavailable ?? ''} max unavailable, ${s.strategy.rollingUpdate.maxSurge ?? ''} max surge`);
    lines.push(...describeTemplate(s));
    if (st.conditions?.length) {
      lines.push('Conditions:');
      for (const c of st.conditions) lines.push(`  ${(c.type ?? '').padEnd(16)}${(c.status ?? '').padEnd(8)}${c.reason ?? ''}`);
    }
    return lines;
  },
};
