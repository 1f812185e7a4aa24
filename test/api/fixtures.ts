// A small Registry of test kinds covering what discovery, OpenAPI, selectors
// and tables care about: core and named groups, namespaced and cluster-scoped,
// status subresources, short names, categories, int-or-string and quantities.
import { ageColumn, column, pathValue } from '../../src/apis/columns.js';
import { objectMeta } from '../../src/apis/meta/v1.js';
import { Registry } from '../../src/apis/registry.js';
import { arr, enumOf, int32, intOrString, obj, quantity, ref, str, stringMap, type Schema } from '../../src/apis/schema.js';
import type { KubeObject, ResourceType } from '../../src/apis/types.js';

const kindDef = (description: string, fields: Record<string, Schema>): Schema =>
  obj({ apiVersion: str(), kind: str(), metadata: objectMeta(), ...fields }, { description });

export const coreDefinitions: Record<string, Schema> = {
  'io.k8s.api.core.v1.Pod': kindDef('Pod is a collection of containers that run on a host.', {
    spec: ref('io.k8s.api.core.v1.PodSpec', 'Desired behaviour of the pod.'),
    status: ref('io.k8s.api.core.v1.PodStatus', 'Observed state of the pod.'),
  }),
  'io.k8s.api.core.v1.PodSpec': obj(
    {
      nodeName: str('Node the pod is bound to.'),
      containers: arr(ref('io.k8s.api.core.v1.Container'), { mergeKey: 'name', description: 'Containers in the pod.' }),
    },
    { required: ['containers'], description: 'PodSpec is a description of a pod.' },
  ),
  'io.k8s.api.core.v1.Container': obj(
    {
      name: str('Name of the container.'),
      image: str('Image to run.'),
      port: intOrString('Port by number or name.'),
      memory: quantity('Memory limit.'),
      env: stringMap('Environment.'),
    },
    { required: ['name'], description: 'A single application container.' },
  ),
  'io.k8s.api.core.v1.PodStatus': obj({ phase: enumOf(['Pending', 'Running', 'Succeeded', 'Failed'], 'Lifecycle phase.') }, { description: 'PodStatus.' }),
  'io.k8s.api.core.v1.Node': kindDef('Node is a worker host.', { spec: obj({ unschedulable: { type: 'boolean' } }) }),
};

export const pod: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Pod',
  plural: 'pods',
  singular: 'pod',
  shortNames: ['po'],
  categories: ['all'],
  namespaced: true,
  definition: 'io.k8s.api.core.v1.Pod',
  statusSubresource: true,
  strategicMergePatch: true,
  columns: [
    column('Status', 'The pod phase.', (o) => (pathValue(o, 'status.phase') as string | undefined) ?? 'Pending'),
    column('Restarts', 'Container restarts.', () => 0, { type: 'integer' }),
    ageColumn,
    column('Node', 'Node the pod runs on.', (o) => (pathValue(o, 'spec.nodeName') as string | undefined) ?? null, { priority: 1 }),
  ],
  selectableFields: {
    'spec.nodeName': (o) => pathValue(o, 'spec.nodeName') as string | undefined,
    'status.phase': (o) => pathValue(o, 'status.phase') as string | undefined,
  },
};

export const node: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  shortNames: ['no'],
  namespaced: false,
  definition: 'io.k8s.api.core.v1.Node',
  statusSubresource: true,
  strategicMergePatch: true,
  columns: [ageColumn],
};

export const appsDefinitions: Record<string, Schema> = {
  'io.k8s.api.apps.v1.Deployment': kindDef('Deployment enables declarative updates for Pods and ReplicaSets.', {
    spec: obj({ replicas: int32('Desired pods.'), maxSurge: intOrString('Extra pods during a rollout.') }),
  }),
};

export const deployment: ResourceType = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  singular: 'deployment',
  shortNames: ['deploy'],
  categories: ['all'],
  namespaced: true,
  definition: 'io.k8s.api.apps.v1.Deployment',
  statusSubresource: true,
  strategicMergePatch: true,
  columns: [ageColumn],
};

export const lodgeDefinitions: Record<string, Schema> = {
  // No description on purpose: the published document must still have one.
  'dev.lodge.v1alpha1.Instance': obj({ metadata: objectMeta(), spec: obj({ type: enumOf(['vm', 'container']) }) }),
};

export const instance: ResourceType = {
  group: 'lodge.dev',
  version: 'v1alpha1',
  kind: 'Instance',
  plural: 'instances',
  singular: 'instance',
  shortNames: ['inst'],
  namespaced: true,
  definition: 'dev.lodge.v1alpha1.Instance',
  statusSubresource: false,
  strategicMergePatch: false,
  columns: [ageColumn],
};

export function testRegistry(): Registry {
  return new Registry([
    { definitions: coreDefinitions, kinds: [pod, node] },
    { definitions: appsDefinitions, kinds: [deployment] },
    { definitions: lodgeDefinitions, kinds: [instance] },
  ]);
}

export function podObject(name: string, o: { namespace?: string; labels?: Record<string, string>; nodeName?: string; phase?: string; created?: string } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: o.namespace ?? 'default', uid: `uid-${name}`, resourceVersion: '7', labels: o.labels, creationTimestamp: o.created ?? '2024-01-01T00:00:00Z' },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...(o.nodeName ? { nodeName: o.nodeName } : {}) },
    status: o.phase ? { phase: o.phase } : {},
  };
}
