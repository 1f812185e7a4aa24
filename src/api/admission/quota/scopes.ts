// ResourceQuota scopes (Kubernetes' spec.scopes and spec.scopeSelector): a
// scoped quota charges only the objects that match all its scopes.
//   Terminating     Pods with spec.activeDeadlineSeconds (they end by themselves)
//   NotTerminating  Pods without it, and Instances (servers run until stopped)
//   BestEffort      Pods with no cpu/memory request or limit in any container,
//                   Instances with neither spec.cpu nor spec.memory
//   NotBestEffort   the others (every VM: it always has a size)
//   PriorityClass   Pods and Instances by spec.priorityClassName: in
//                   spec.scopes, or with operator Exists, those that name a
//                   class; with In/NotIn, those whose class is (not) among
//                   the values; with DoesNotExist, those without a class
// Other kinds never match a scoped quota, as in Kubernetes.
//
// The namespace's quota ledger counts by name; a scoped quota's usage is
// counted under its own ledger names ("requests.cpu#NotBestEffort"), so
// quotas with different scopes never share a count and an unscoped quota's
// names stay the plain resource names.
import { qosClass } from '../../../apis/core/v1/pod-defaults.js';
import type { Pod } from '../../../apis/core/v1/types.js';
import { SUPPORTED_SCOPES, type ScopedSpec } from '../../../apis/core/v1/resourcequota.js';
import type { KubeObject, ResourceType } from '../../../apis/types.js';

export { SUPPORTED_SCOPES, type ScopedSpec };
/**
 * A scope as quotas and the ledger name it: a supported scope's name, or for
 * a PriorityClass expression other than Exists "PriorityClass:OPERATOR:v1|v2"
 * (class names have neither ':' nor '|' nor ',').
 */
export type Scope = string;
const PRIORITY_CLASS = 'PriorityClass';

/**
 * A quota's scopes from both fields, sorted and without repeats. Validation
 * admits only the supported scopes with operator Exists, so a scope's name
 * is all that matters here.
 */
export function quotaScopes(spec: ScopedSpec | undefined): Scope[] {
  const names = [
    ...(spec?.scopes ?? []),
    ...(spec?.scopeSelector?.matchExpressions ?? []).map((r) =>
      r.scopeName === PRIORITY_CLASS && r.operator && r.operator !== 'Exists' ? `${PRIORITY_CLASS}:${r.operator}:${[...(r.values ?? [])].sort().join('|')}` : String(r.scopeName),
    ),
  ];
  return [...new Set(names)].filter((s) => (SUPPORTED_SCOPES as readonly string[]).includes(s) || s.startsWith(`${PRIORITY_CLASS}:`)).sort();
}

const SEPARATOR = '#';

/** The ledger's name for `resource` as counted by a quota with `scopes`. */
export const ledgerName = (resource: string, scopes: readonly Scope[]): string => (scopes.length ? `${resource}${SEPARATOR}${scopes.join(',')}` : resource);

/** The resource and scopes a ledger name stands for. */
export function parseLedgerName(name: string): { resource: string; scopes: Scope[] } {
  const at = name.indexOf(SEPARATOR);
  if (at < 0) return { resource: name, scopes: [] };
  return { resource: name.slice(0, at), scopes: name.slice(at + 1).split(',') as Scope[] };
}

const isPod = (rt: Pick<ResourceType, 'group' | 'plural'>): boolean => rt.group === '' && rt.plural === 'pods';
const isInstance = (rt: Pick<ResourceType, 'group' | 'plural'>): boolean => rt.group === 'lodge.dev' && rt.plural === 'instances';

/** The scopes an object falls in (empty for kinds no scope applies to). */
export function scopesOf(rt: Pick<ResourceType, 'group' | 'plural'>, obj: KubeObject): Set<Scope> {
  const out = baseScopes(rt, obj);
  // The class, so that a change of it is a change of scopes ("PriorityClass=" when none).
  if (isPod(rt) || isInstance(rt)) out.add(`${PRIORITY_CLASS}=${(obj.spec as { priorityClassName?: string } | undefined)?.priorityClassName ?? ''}`);
  return out;
}

function baseScopes(rt: Pick<ResourceType, 'group' | 'plural'>, obj: KubeObject): Set<Scope> {
  if (isPod(rt)) {
    const spec = (obj as Pod).spec;
    const deadline = (spec as { activeDeadlineSeconds?: number } | undefined)?.activeDeadlineSeconds;
    return new Set<Scope>([
      deadline !== undefined && deadline !== null && deadline >= 0 ? 'Terminating' : 'NotTerminating',
      qosClass(spec) === 'BestEffort' ? 'BestEffort' : 'NotBestEffort',
    ]);
  }
  if (isInstance(rt)) {
    const spec = (obj.spec ?? {}) as { cpu?: unknown; memory?: unknown };
    return new Set<Scope>(['NotTerminating', spec.cpu === undefined && spec.memory === undefined ? 'BestEffort' : 'NotBestEffort']);
  }
  return new Set();
}

/** Whether a quota with `scopes` charges the object (one without scopes charges everything). */
export function matchesScopes(rt: Pick<ResourceType, 'group' | 'plural'>, obj: KubeObject, scopes: readonly Scope[]): boolean {
  if (!scopes.length) return true;
  const has = scopesOf(rt, obj);
  return scopes.every((s) => {
    if (s !== PRIORITY_CLASS && !s.startsWith(`${PRIORITY_CLASS}:`)) return has.has(s);
    if (!isPod(rt) && !isInstance(rt)) return false;
    const cls = (obj.spec as { priorityClassName?: string } | undefined)?.priorityClassName ?? '';
    if (s === PRIORITY_CLASS) return cls !== '';
    const [, op, list] = s.split(':');
    const values = list ? list.split('|') : [];
    if (op === 'In') return values.includes(cls);
    if (op === 'NotIn') return !values.includes(cls);
    if (op === 'DoesNotExist') return cls === '';
    return false;
  });
}
