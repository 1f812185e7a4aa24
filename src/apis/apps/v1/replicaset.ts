// ReplicaSet: keeps a number of identical pods running.
import { ageColumn, column } from '../../columns.js';
import { arr, int32, obj, ref, type Schema } from '../../schema.js';
import type { KubeObject, ResourceType } from '../../types.js';
import { coreRef, withDefault } from '../../core/v1/names.js';
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
} from './workload.js';

export const replicaSetDefinitions: Record<string, Schema> = {
  [apps('ReplicaSetSpec')]: obj(
    {
      replicas: withDefault(int32('Desired number of pods.'), 1),
      minReadySeconds: int32('Seconds a new pod must be ready, without crashing, to count as available.'),
      selector: labelSelector('The pods this ReplicaSet counts; must match the template\'s labels and cannot change.'),
      template: coreRef('PodTemplateSpec', 'The pods created when too few exist.'),
    },
    { required: ['selector'], description: 'Desired state of a ReplicaSet.' },
  ),
  [apps('ReplicaSetCondition')]: workloadCondition('ReplicaSet', 'ReplicaFailure'),
  [apps('ReplicaSetStatus')]: obj(
    {
      replicas: replicaCount('Pods that are not terminating.'),
      fullyLabeledReplicas: replicaCount('Pods whose labels match the template\'s.'),
      readyReplicas: replicaCount('Pods that are ready.'),
      availableReplicas: replicaCount('Pods ready for at least minReadySeconds.'),
      terminatingReplicas: replicaCount('Pods being terminated.'),
      observedGeneration: observedGeneration(),
      conditions: arr(ref(apps('ReplicaSetCondition')), { mergeKey: 'type', description: 'Current conditions of the ReplicaSet.' }),
    },
    { required: ['replicas'], description: 'Observed state of a ReplicaSet.' },
  ),
  [apps('ReplicaSet')]: kindDefinition(appsGVK('ReplicaSet'), 'Keeps a given number of identical pods running.', {
    spec: ref(apps('ReplicaSetSpec'), 'Desired state of the ReplicaSet.'),
    status: ref(apps('ReplicaSetStatus'), 'Observed state of the ReplicaSet.'),
  }),
};

const asRs = (o: KubeObject): Workload => o as Workload;

export const replicaSet: ResourceType = {
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
  singular: 'replicaset',
  shortNames: ['rs'],
  categories: ['all'],
  namespaced: true,
  definition: apps('ReplicaSet'),
  statusSubresource: true,
  scale: { specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas', labelSelectorPath: 'spec.selector' },
  strategicMergePatch: true,
  columns: [
    column('Desired', 'Desired number of pods.', (o) => asRs(o).spec?.replicas ?? 1, { type: 'integer' }),
    column('Current', 'Pods that exist.', (o) => asRs(o).status?.replicas ?? 0, { type: 'integer' }),
    column('Ready', 'Pods that are ready.', (o) => asRs(o).status?.readyReplicas ?? 0, { type: 'integer' }),
    ageColumn,
    ...workloadWideColumns,
  ],
  selectableFields: {
    'status.replicas': (o) => String(asRs(o).status?.replicas ?? 0),
  },
  applyDefaults(o) {
    const spec = asRs(o).spec;
    if (!spec) return;
    spec.replicas ??= 1;
    applyTemplateDefaults(spec);
  },
  validate(o, old) {
    return validateWorkload(asRs(o).spec, old && asRs(old).spec, 'ReplicaSet');
  },
  describe(o) {
    const r = asRs(o);
    return [
      `Replicas:       ${r.status?.replicas ?? 0} current / ${r.spec?.replicas ?? 1} desired`,
      `Pods Status:    ${r.status?.readyReplicas ?? 0} Ready / ${r.status?.availableReplicas ?? 0} Available`,
      ...describeTemplate(r.spec),
    ];
  },
};
