// Namespace: a scope for names, and the unit of deletion for what is in it.
import { ageColumn, column } from '../../columns.js';
import { arr, obj, str, time, enumOf, type Schema } from '../../schema.js';
import type { KubeObject, ResourceType } from '../../types.js';
import { kindDefinition } from '../../meta/v1.js';
import { atomicList, core, coreGVK, coreRef } from './names.js';

type Namespace = KubeObject & {
  spec?: { finalizers?: string[] };
  status?: { phase?: string; conditions?: Array<{ type?: string; status?: string }> };
};

export const namespaceDefinitions: Record<string, Schema> = {
  [core('NamespaceSpec')]: obj(
    { finalizers: atomicList(str(), 'What must clean up before the namespace is removed; "kubernetes" empties it of objects.') },
    { description: 'Desired state of a namespace.' },
  ),
  [core('NamespaceCondition')]: obj(
    {
      type: str('Type of the condition, e.g. NamespaceDeletionContentFailure.'),
      status: enumOf(['True', 'False', 'Unknown'], 'Whether it holds.'),
      lastTransitionTime: time('When it last changed.'),
      reason: str('CamelCase reason.'),
      message: str('Details.'),
    },
    { required: ['type', 'status'], description: 'One aspect of a namespace\'s state.' },
  ),
  [core('NamespaceStatus')]: obj(
    {
      phase: enumOf(['Active', 'Terminating'], 'Active, or Terminating while its content is deleted.'),
      conditions: arr(coreRef('NamespaceCondition'), { mergeKey: 'type', description: 'Current conditions of the namespace.' }),
    },
    { description: 'Observed state of a namespace.' },
  ),
  [core('Namespace')]: kindDefinition(coreGVK('Namespace'), 'A scope for the names of namespaced objects.', {
    spec: coreRef('NamespaceSpec', 'Desired state of the namespace.'),
    status: coreRef('NamespaceStatus', 'Observed state of the namespace.'),
  }),
};

const asNs = (o: KubeObject): Namespace => o as Namespace;

export const namespace: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  singular: 'namespace',
  shortNames: ['ns'],
  namespaced: false,
  nameFormat: 'dns1123-label',
  definition: core('Namespace'),
  statusSubresource: true,
  strategicMergePatch: true,
  columns: [column('Status', 'Active or Terminating.', (o) => asNs(o).status?.phase ?? ''), ageColumn],
  selectableFields: {
    'status.phase': (o) => asNs(o).status?.phase ?? '',
  },
  deletion: {
    // The namespace controller empties the namespace, then removes its "kubernetes" finalizer.
    pendingFinalizers: (o) => asNs(o).spec?.finalizers ?? [],
    onStart(o) {
      o.status = { ...(o.status ?? {}), phase: 'Terminating' };
    },
    // As Kubernetes' NamespaceLifecycle admission: these are never deleted.
    protectedNames: ['default', 'kube-system', 'kube-public'],
  },
  applyDefaults(o) {
    // Kubernetes labels every namespace with its own name, so selectors (network policies, quotas) can pick namespaces by name.
    if (o.metadata.name) o.metadata.labels = { ...o.metadata.labels, 'kubernetes.io/metadata.name': o.metadata.name };
  },
  prepareForCreate(o) {
    const ns = asNs(o);
    // As in Kubernetes: every namespace starts Active, guarded by the
    // "kubernetes" finalizer so its content is removed before it is.
    ns.spec = { ...ns.spec, finalizers: ['kubernetes'] };
    ns.status = { phase: 'Active' };
  },
  describe(o) {
    return [`Status:  ${asNs(o).status?.phase ?? ''}`];
  },
};
