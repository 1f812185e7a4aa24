// ResourceQuota: the most a namespace (a tenant) may hold — object counts,
// compute requests and limits of its Pods and Instances, storage. spec.hard
// is enforced at admission; status (hard and used) is written by the
// resource quota controller. Scopes (spec.scopes, spec.scopeSelector) narrow
// a quota to matching Pods and Instances (see admission/quota/scopes.ts).
import { ageColumn, column } from '../../columns.js';
import { arr, enumOf, obj, str, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { kindDefinition } from '../../meta/v1.js';
import { immutable, invalid, notSupported, required } from './field-errors.js';
import { parseQuantity } from './quantity.js';
import { resourceList } from './resources.js';
import { core, coreGVK, coreRef } from './names.js';

type Quota = KubeObject & { spec?: ScopedSpec & { hard?: Record<string, string> }; status?: { hard?: Record<string, string>; used?: Record<string, string> } };

const SCOPES = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort', 'PriorityClass', 'CrossNamespacePodAffinity'];
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
/** The scopes Lodge serves (what each matches: api/admission/quota/scopes.ts). */
export const SUPPORTED_SCOPES = ['BestEffort', 'NotBestEffort', 'NotTerminating', 'PriorityClass', 'Terminating'] as const;
export type Scope = (typeof SUPPORTED_SCOPES)[number];
export interface ScopeRequirement {
  scopeName?: string;
  operator?: string;
  values?: string[];
}
export interface ScopedSpec {
  scopes?: string[];
  scopeSelector?: { matchExpressions?: ScopeRequirement[] };
}

/** Resource names a scope may limit (Kubernetes' IsResourceQuotaScopeValidForResource); names with a slash (count/..., extended resources) are not checked, as there. */
const POD_COUNT = ['pods'];
const POD_COMPUTE = ['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'];
export function scopeLimits(scope: Scope, resource: string): boolean {
  if (resource.includes('/')) return true;
  if (scope === 'BestEffort') return POD_COUNT.includes(resource);
  return POD_COUNT.includes(resource) || POD_COMPUTE.includes(resource);
}
/** Scopes Kubernetes has that need something Lodge does not serve. */
const UNSERVED: Record<string, string> = {
  CrossNamespacePodAffinity: 'cross-namespace pod affinity is not supported by Lodge',
};

export const resourceQuotaDefinitions: Record<string, Schema> = {
  [core('ResourceQuota')]: kindDefinition(coreGVK('ResourceQuota'), 'The most of each resource a namespace may use.', {
    spec: coreRef('ResourceQuotaSpec', 'The enforced hard limits.'),
    status: coreRef('ResourceQuotaStatus', 'Enforced hard limits and what the namespace uses now.'),
  }),
  [core('ResourceQuotaSpec')]: obj(
    {
      hard: resourceList('Most of each named resource: pods, requests.cpu, limits.memory, count/instances.lodge.dev, ...'),
      scopes: arr(enumOf(SCOPES), { listType: 'atomic', description: 'Only objects in every one of these scopes are charged: Terminating, NotTerminating, BestEffort, NotBestEffort.' }),
      scopeSelector: coreRef('ScopeSelector', 'More scopes, as expressions; an object must match these and spec.scopes.'),
    },
    { description: 'The hard limits a quota enforces.' },
  ),
  [core('ScopeSelector')]: obj(
    { matchExpressions: arr(coreRef('ScopedResourceSelectorRequirement'), { listType: 'atomic', description: 'All must match.' }) },
    { description: 'Scopes a quota applies to, as expressions.' },
  ),
  [core('ScopedResourceSelectorRequirement')]: obj(
    {
      scopeName: enumOf(SCOPES, 'The scope.'),
      operator: enumOf([...OPERATORS], 'In, NotIn, Exists or DoesNotExist; the scopes Lodge supports take Exists.'),
      values: arr(str(), { listType: 'atomic', description: 'Values for In and NotIn.' }),
    },
    { required: ['scopeName', 'operator'], description: 'One scope of a scope selector.' },
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
  errs.push(...validateScopes(q.spec ?? {}));
  return errs;
}

const isSupported = (s: string | undefined): s is Scope => (SUPPORTED_SCOPES as readonly string[]).includes(String(s));
/** 422 Unsupported value, saying why Lodge refuses a scope Kubernetes has. */
function unserved(field: string, scope: string): FieldError {
  const e = notSupported(field, scope, SUPPORTED_SCOPES);
  return { ...e, message: `${e.message} (${UNSERVED[scope]})` };
}
const CONFLICTS: Array<[Scope, Scope]> = [['BestEffort', 'NotBestEffort'], ['Terminating', 'NotTerminating']];

/** Kubernetes' validateResourceQuotaScopes and validateScopedResourceSelectorRequirement, Lodge's unserved scopes refused. */
function validateScopes(spec: NonNullable<Quota['spec']>): FieldError[] {
  const errs: FieldError[] = [];
  const hard = Object.keys(spec.hard ?? {});
  const unlimitable = (scope: Scope): string[] => hard.filter((r) => !scopeLimits(scope, r));
  const seen = new Set<string>();
  (spec.scopes ?? []).forEach((scope, i) => {
    const f = `spec.scopes[${i}]`;
    if (UNSERVED[scope]) errs.push(unserved(f, scope));
    else if (isSupported(scope)) for (const r of unlimitable(scope)) errs.push(invalid('spec.scopes', spec.scopes, `unsupported scope applied to resource: ${scope} does not limit ${r}`));
    seen.add(scope);
  });
  (spec.scopeSelector?.matchExpressions ?? []).forEach((req, i) => {
    const f = `spec.scopeSelector.matchExpressions[${i}]`;
    const scope = String(req.scopeName ?? '');
    if (!req.scopeName) errs.push(required(`${f}.scopeName`));
    else if (UNSERVED[scope]) errs.push(unserved(`${f}.scopeName`, scope));
    else if (isSupported(scope)) {
      for (const r of unlimitable(scope)) errs.push(invalid('spec.scopeSelector.matchExpressions', scope, `unsupported scope applied to resource: ${scope} does not limit ${r}`));
      // PriorityClass takes any operator, on the object's priorityClassName.
      if (scope !== 'PriorityClass' && req.operator !== 'Exists')
        errs.push(invalid(`${f}.operator`, req.operator ?? '', "must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort or ResourceQuotaScopeNotBestEffort"));
    }
    if ((req.operator === 'In' || req.operator === 'NotIn') && !req.values?.length)
      errs.push(required(`${f}.values`, "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"));
    if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && req.values?.length)
      errs.push(invalid(`${f}.values`, req.values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"));
    seen.add(scope);
  });
  for (const [a, b] of CONFLICTS) if (seen.has(a) && seen.has(b)) errs.push(invalid('spec.scopes', [...seen].sort(), `conflicting scopes: ${a} and ${b} match no object together`));
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
  validate(o, old) {
    const errs = validateQuota(o as Quota);
    // As Kubernetes: a quota's scopes are fixed (what it counted would no longer mean anything).
    const scopesOf = (x: KubeObject): string => JSON.stringify([...((x as Quota).spec?.scopes ?? [])].sort());
    if (old && scopesOf(o) !== scopesOf(old)) errs.push(immutable('spec.scopes', (o as Quota).spec?.scopes ?? []));
    return errs;
  },
  describe(o) {
    const q = o as Quota;
    const scopes = [...(q.spec?.scopes ?? []), ...(q.spec?.scopeSelector?.matchExpressions ?? []).map((r) => String(r.scopeName))];
    const lines = [...(scopes.length ? [`Scopes:   ${scopes.join(', ')}`] : []), 'Resource  Used  Hard', '--------  ----  ----'];
    for (const n of Object.keys(q.spec?.hard ?? {}).sort()) lines.push(`${n}  ${q.status?.used?.[n] ?? '0'}  ${q.status?.hard?.[n] ?? q.spec?.hard?.[n]}`);
    return lines;
  },
};

