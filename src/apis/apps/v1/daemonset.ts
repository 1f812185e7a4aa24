// DaemonSet: one pod of a template on every node that qualifies for it,
// rolled out node by node when the template changes.
import { ageColumn, column } from '../../columns.js';
import { arr, enumOf, int32, intOrString, obj, ref, type Schema } from '../../schema.js';
import type { Column, FieldError, KubeObject, ResourceType } from '../../types.js';
import { intOrPercent, invalid, nonNegative, notSupported, required } from '../../core/v1/field-errors.js';
import { coreRef, withDefault } from '../../core/v1/names.js';
import { formatLabelMap } from '../../core/v1/label-selector.js';
import type { Condition } from '../../core/v1/types.js';
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
  type WorkloadSpec,
} from './workload.js';

type IntOrString = number | string;

export type DaemonSetSpec = Omit<WorkloadSpec, 'replicas'> & {
  updateStrategy?: { type?: string; rollingUpdate?: { maxUnavailable?: IntOrString; maxSurge?: IntOrString } };
  revisionHistoryLimit?: number;
};

export type DaemonSetStatus = {
  currentNumberScheduled?: number;
  numberMisscheduled?: number;
  desiredNumberScheduled?: number;
  numberReady?: number;
  observedGeneration?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberUnavailable?: number;
  collisionCount?: number;
  conditions?: Condition[];
};

export type DaemonSet = KubeObject & { spec?: DaemonSetSpec; status?: DaemonSetStatus };

export const ROLLING_UPDATE = 'RollingUpdate';
export const ON_DELETE = 'OnDelete';

export const daemonSetDefinitions: Record<string, Schema> = {
  [apps('RollingUpdateDaemonSet')]: obj(
    {
      maxUnavailable: { ...intOrString('Most nodes whose daemon pod may be unavailable during the update: a number or a percentage of the nodes that should run it (rounded up). Exactly one of maxUnavailable and maxSurge is non-zero.'), default: 1 },
      maxSurge: { ...intOrString('Most nodes that may run a new daemon pod beside the old one during the update, the old one deleted once the new one is available: a number or a percentage (rounded up).'), default: 0 },
    },
    { description: 'Limits of a DaemonSet rolling update.' },
  ),
  [apps('DaemonSetUpdateStrategy')]: obj(
    {
      type: withDefault(enumOf(['RollingUpdate', 'OnDelete'], 'RollingUpdate replaces old pods node by node; OnDelete only replaces pods that were deleted.'), 'RollingUpdate'),
      rollingUpdate: ref(apps('RollingUpdateDaemonSet'), 'Limits of the rolling update; only with type RollingUpdate.'),
    },
    { description: 'How old daemon pods are replaced by new ones.' },
  ),
  [apps('DaemonSetSpec')]: obj(
    {
      selector: labelSelector('The pods this DaemonSet manages; must match the template\'s labels and cannot change.'),
      template: coreRef('PodTemplateSpec', 'The pod run on every qualifying node; changing it starts a rollout.'),
      updateStrategy: {
        ...ref(apps('DaemonSetUpdateStrategy'), 'How pods are replaced when the template changes.'),
        default: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      },
      minReadySeconds: int32('Seconds a new pod must be ready, without crashing, to count as available.'),
      revisionHistoryLimit: withDefault(int32('Old ControllerRevisions kept for rollback.'), 10),
    },
    { required: ['selector', 'template'], description: 'Desired state of a DaemonSet.' },
  ),
  [apps('DaemonSetCondition')]: workloadCondition('DaemonSet', 'none defined yet'),
  [apps('DaemonSetStatus')]: obj(
    {
      currentNumberScheduled: replicaCount('Nodes that run at least one daemon pod and should.'),
      numberMisscheduled: replicaCount('Nodes that run a daemon pod but should not.'),
      desiredNumberScheduled: replicaCount('Nodes that should run the daemon pod.'),
      numberReady: replicaCount('Nodes whose daemon pod is ready.'),
      observedGeneration: observedGeneration(),
      updatedNumberScheduled: replicaCount('Nodes whose daemon pod runs the current template.'),
      numberAvailable: replicaCount('Nodes whose daemon pod has been ready for at least minReadySeconds.'),
      numberUnavailable: replicaCount('Nodes that should run the daemon pod and have none available.'),
      collisionCount: int32('Counts hash collisions of ControllerRevision names, to make new names unique.'),
      conditions: arr(ref(apps('DaemonSetCondition')), { mergeKey: 'type', description: 'Current conditions of the DaemonSet.' }),
    },
    { description: 'Observed state of a DaemonSet.' },
  ),
  [apps('DaemonSet')]: kindDefinition(appsGVK('DaemonSet'), 'Runs a copy of a pod on every node that qualifies.', {
    spec: ref(apps('DaemonSetSpec'), 'Desired state of the DaemonSet.'),
    status: ref(apps('DaemonSetStatus'), 'Observed state of the DaemonSet.'),
  }),
};

const asDs = (o: KubeObject): DaemonSet => o as DaemonSet;

function applyDaemonSetDefaults(spec: DaemonSetSpec | undefined): void {
  if (!spec) return;
  applyTemplateDefaults(spec);
  spec.revisionHistoryLimit ??= 10;
  spec.updateStrategy ??= {};
  spec.updateStrategy.type ??= ROLLING_UPDATE;
  if (spec.updateStrategy.type === ROLLING_UPDATE) {
    spec.updateStrategy.rollingUpdate ??= {};
    spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
    spec.updateStrategy.rollingUpdate.maxSurge ??= 0;
  }
}

/** A count or a percentage up to 100%; its errors and whether it is zero (Kubernetes' ValidatePositiveIntOrPercent and IsNotMoreThan100Percent). */
/** A DaemonSet's maxUnavailable or maxSurge: at most 100%, unset counts as zero. */
function countOrPercent(field: string, v: IntOrString | undefined): { errors: FieldError[]; zero: boolean } {
  const r = intOrPercent(field, v, { max100: true });
  return { errors: r.errors, zero: r.zero ?? true };
}

function validateUpdateStrategy(s: DaemonSetSpec['updateStrategy']): FieldError[] {
  const path = 'spec.updateStrategy';
  if (!s) return [];
  if (s.type === ON_DELETE) return [];
  if (s.type !== ROLLING_UPDATE) return [notSupported(`${path}.type`, s.type, [ROLLING_UPDATE, ON_DELETE])];
  const ru = s.rollingUpdate;
  if (!ru) return [required(`${path}.rollingUpdate`)];
  const unavailable = countOrPercent(`${path}.rollingUpdate.maxUnavailable`, ru.maxUnavailable);
  const surge = countOrPercent(`${path}.rollingUpdate.maxSurge`, ru.maxSurge);
  const errs = [...unavailable.errors, ...surge.errors];
  // Either pods go down before their replacement starts, or replacements start first: never both, never neither.
  if (!unavailable.zero && !surge.zero) errs.push(invalid(`${path}.rollingUpdate.maxSurge`, ru.maxSurge, 'may not be set when maxUnavailable is non-zero'));
  if (unavailable.zero && surge.zero) errs.push(required(`${path}.rollingUpdate.maxUnavailable`, 'cannot be 0 when maxSurge is 0'));
  return errs;
}

function validateDaemonSet(ds: DaemonSet, old?: DaemonSet): FieldError[] {
  const spec = ds.spec;
  if (!spec) return [];
  const errs = validateWorkload(spec, old?.spec, 'daemonset');
  errs.push(...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit));
  errs.push(...validateUpdateStrategy(spec.updateStrategy));
  return errs;
}

const status = (o: KubeObject): DaemonSetStatus => asDs(o).status ?? {};
const count = (name: string, description: string, pick: (s: DaemonSetStatus) => number | undefined): Column => column(name, description, (o) => pick(status(o)) ?? 0, { type: 'integer' });

export const daemonSet: ResourceType = {
  group: 'apps',
  version: 'v1',
  kind: 'DaemonSet',
  plural: 'daemonsets',
  singular: 'daemonset',
  shortNames: ['ds'],
  categories: ['all'],
  namespaced: true,
  definition: apps('DaemonSet'),
  statusSubresource: true,
  strategicMergePatch: true,
  columns: [
    count('Desired', 'Nodes that should run the daemon pod.', (s) => s.desiredNumberScheduled),
    count('Current', 'Nodes that run a daemon pod.', (s) => s.currentNumberScheduled),
    count('Ready', 'Nodes whose daemon pod is ready.', (s) => s.numberReady),
    count('Up-to-date', 'Nodes whose daemon pod runs the current template.', (s) => s.updatedNumberScheduled),
    count('Available', 'Nodes whose daemon pod is available.', (s) => s.numberAvailable),
    column('Node Selector', 'The template\'s node selector.', (o) => formatLabelMap(asDs(o).spec?.template?.spec?.nodeSelector)),
    ageColumn,
    ...workloadWideColumns,
  ],
  applyDefaults(o) {
    applyDaemonSetDefaults(asDs(o).spec);
  },
  validate(o, old) {
    return validateDaemonSet(asDs(o), old && asDs(old));
  },
  describe(o) {
    const ds = asDs(o);
    const st = ds.status ?? {};
    const s = ds.spec ?? {};
    return [
      `Node-Selector:                  ${formatLabelMap(s.template?.spec?.nodeSelector)}`,
      `Desired Number of Nodes Scheduled: ${st.desiredNumberScheduled ?? 0}`,
      `Current Number of Nodes Scheduled: ${st.currentNumberScheduled ?? 0}`,
      `Number of Nodes Scheduled with Up-to-date Pods: ${st.updatedNumberScheduled ?? 0}`,
      `Number of Nodes Scheduled with Available Pods: ${st.numberAvailable ?? 0}`,
      `Number of Nodes Misscheduled: ${st.numberMisscheduled ?? 0}`,
      `Pods Status:  ${st.numberReady ?? 0} Ready / ${st.numberAvailable ?? 0} Available`,
      `UpdateStrategy:   ${s.updateStrategy?.type ?? ROLLING_UPDATE}`,
      ...describeTemplate(s),
    ];
  },
};
