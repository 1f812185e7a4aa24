// ResourceQuota: the most a namespace (a tenant) may hold — object counts,
// compute requests and limits of its Pods and Instances, storage. spec.hard
// is enforced at admission; status (hard and used) is written by the
// resource quota controller.
import { ageColumn, column } from '../../columns.js';
import { arr, enumOf, obj, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { kindDefinition } from '../../meta/v1.js';
import { invalid, notSupported } from './field-errors.js';
import { parseQuantity } from './quantity.js';
import { resourceList } from './resources.js';
import { core, coreGVK, coreRef } from './names.js';

type Quota = KubeObject & { spec?: { hard?: Record<string, string> }; status?: { hard?: Record<string, string>; used?: Record<string, string> } };

const SCOPES = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort', 'PriorityClass', 'CrossNamespacePodAffinity'];

export const resourceQuotaDefinitions: Record<string, Schema> = {
  [core('ResourceQuota')]: kindDefinition(coreGVK('ResourceQuota'), 'The most of each resource a namespace may use.', {
    spec: coreRef('ResourceQuotaSpec', 'The enforced hard limits.'),
    status: coreRef('ResourceQuotaStatus', 'Enforced hard limits and what the namespace uses now.'),
  }),
  [core('ResourceQuotaSpec')]: obj(
    {
      hard: resourceList('Most of each named resource: pods, requests.cpu, limits.memory, count/instances.lodge.dev, ...'),
      scopes: arr(enumOf(SCOPES), { listType: 'atomic', description: 'Not supported by Lodge: quotas apply to every object.' }),
      scopeSelector: obj({}, { description: 'Not supported by Lodge.' }),
    },
    { description: 'The hard limits a quota enforces.' },
  ),
  [core('ResourceQuotaStatus')]: obj(
    {
      hard: resourceList('The hard limits in force.'),
      used: resourceList('What the namespace uses now, of each limited resource.'),
    },
    { description: 'What a quota enforces and what is used.' },
  ),
};

/** Resource names a quota may limit: the standard ones, count/<resource>[.<group>], and any qualified (domain/name) resource. */
const STANDARD = new Set([
  'pods', 'services', 'services.nodeports', 'services.loadbalancers', 'configmaps', 'secrets', 'persistentvolumeclaims',
  'replicationcontrollers', 'resourcequotas', 'cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory',
  'requests.storage', 'ephemeral-storage', 'requests.ephemeral-storage', 'limits.ephemeral-storage',
]);
const QUALIFIED = /^(count\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?|(requests\.|limits\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const COUNTS = (n: string): boolean => !/(^|\.)(cpu|memory|storage|ephemeral-storage)$/.test(n) && !n.includes('/') || n.startsWith('count/');

function validateQuota(q: Quota): FieldError[] {
  const errs: FieldError[] = [];
  for (const [name, v] of Object.entries(q.spec?.hard ?? {})) {
    const f = `spec.hard[${name}]`;
    if (!STANDARD.has(name) && !QUALIFIED.test(name)) errs.push(invalid(f, name, 'must be a standard resource type or fully qualified'));
    const n = parseQuantity(v);
    if (n === undefined) continue;
    if (n < 0) errs.push(invalid(f, v, 'must be greater than or equal to 0'));
    else if (COUNTS(name) && !Number.isInteger(n)) errs.push(invalid(f, v, 'must be an integer'));
  }
  if ((q.spec as { scopes?: string[] } | undefined)?.scopes?.length) errs.push(notSupported('spec.scopes', (q.spec as { scopes: string[] }).scopes[0], []));
  if ((q.spec as { scopeSelector?: unknown } | undefined)?.scopeSelector) errs.push(invalid('spec.scopeSelector', '', 'not supported by Lodge'));
  return errs;
}

/** kubectl's REQUEST / LIMIT cells: "pods: 1/5, requests.cpu: 500m/2", limits.* in LIMIT. */
function usedOverHard(q: Quota, limits: boolean): string {
  const names = Object.keys(q.spec?.hard ?? {}).sort();
  return names
    .filter((n) => n.split('.')[0] === 'limits' === limits)
    .map((n) => `${n}: ${q.status?.used?.[n] ?? '0'}/${q.status?.hard?.[n] ?? '0'}`)
    .join(', ');
}

export const resourceQuota: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'ResourceQuota',
  plural: 'resourcequotas',
  singular: 'resourcequota',
  shortNames: ['quota'],
  namespaced: true,
  definition: core('ResourceQuota'),
  statusSubresource: true,
  strategicMergePatch: true,
  columns: [
    ageColumn,
    column('Request', 'Used/hard of every limited resource but limits.*.', (o) => usedOverHard(o as Quota, false)),
    column('Limit', 'Used/hard of the limits.* resources.', (o) => usedOverHard(o as Quota, true)),
  ],
  validate(o) {
    return validateQuota(o as Quota);
  },
  describe(o) {
    const q = o as Quota;
    const lines = ['Resource  Used  Hard', '--------  ----  ----'];
    for (const n of Object.keys(q.spec?.hard ?? {}).sort()) lines.push(`${n}  ${q.status?.used?.[n] ?? '0'}  ${q.status?.hard?.[n] ?? q.spec?.hard?.[n]}`);
    return lines;
  },
};

