// LimitRange admission (Kubernetes' LimitRanger) for Pods and claims at
// create: containers without requests/limits get the namespace's defaults
// (before quota admission charges them), then min, max and
// maxLimitRequestRatio are enforced per Container, per Pod (summed) and per
// PersistentVolumeClaim, refused with 403 in Kubernetes' words. Instances
// (type lodge.dev/Instance) in instance-limits.ts.
import type { Container, Pod, ResourceList } from '../../../apis/core/v1/types.js';
import type { Registry } from '../../../apis/registry.js';
import type { KubeObject, ResourceType } from '../../../apis/types.js';
import type { Store } from '../../../store/store.js';
import { decode } from '../../codec.js';
import type { Allocator, Reservation } from '../../resources/resource-service.js';
import { collectionPrefix } from '../../resources/keys.js';
import { invalid } from '../../status.js';
import { format, milli } from './amounts.js';
import { admitInstance, resized } from './instance-limits.js';
import { admissionForbidden } from './quota-admission.js';

const NOTHING: Reservation = { commit: async () => undefined, rollback: async () => undefined };

export interface LimitRangeItem {
  type: 'Container' | 'Pod' | 'PersistentVolumeClaim' | string;
  default?: ResourceList;
  defaultRequest?: ResourceList;
  min?: ResourceList;
  max?: ResourceList;
  maxLimitRequestRatio?: ResourceList;
}

type Values = Record<string, string>;

/** Kubernetes' minConstraint/maxConstraint/limitRequestRatioConstraint, for one resource of one subject. */
export function boundErrors(type: string, item: LimitRangeItem, requests: Values, limits: Values, o: { limitsKnown: boolean } = { limitsKnown: true }): string[] {
  const errs: string[] = [];
  for (const [res, bound] of Object.entries(item.min ?? {})) {
    const b = milli(bound)!;
    const req = requests[res];
    const lim = limits[res];
    if (req === undefined) errs.push(`minimum ${res} usage per ${type} is ${bound}.  No request is specified`);
    else if (milli(req)! < b) errs.push(`minimum ${res} usage per ${type} is ${bound}, but request is ${req}`);
    else if (lim !== undefined && milli(lim)! < b) errs.push(`minimum ${res} usage per ${type} is ${bound}, but limit is ${lim}`);
  }
  for (const [res, bound] of Object.entries(item.max ?? {})) {
    const b = milli(bound)!;
    const req = requests[res];
    const lim = limits[res];
    if (!o.limitsKnown) {
      // A claim has only requests: the max bounds them.
      if (req !== undefined && milli(req)! > b) errs.push(`maximum ${res} usage per ${type} is ${bound}, but request is ${req}`);
      continue;
    }
    if (lim === undefined) errs.push(`maximum ${res} usage per ${type} is ${bound}.  No limit is specified`);
    else if (milli(lim)! > b) errs.push(`maximum ${res} usage per ${type} is ${bound}, but limit is ${lim}`);
    else if (req !== undefined && milli(req)! > b) errs.push(`maximum ${res} usage per ${type} is ${bound}, but request is ${req}`);
  }
  for (const [res, bound] of Object.entries(item.maxLimitRequestRatio ?? {})) {
    const req = milli(requests[res]) ?? 0;
    const lim = milli(limits[res]) ?? 0;
    if (req === 0) errs.push(`${res} max limit to request ratio per ${type} is ${bound}, but no request is specified or request is 0`);
    else if (lim === 0) errs.push(`${res} max limit to request ratio per ${type} is ${bound}, but no limit is specified or limit is 0`);
    else if (lim / req > milli(bound)! / 1000) errs.push(`${res} max limit to request ratio per ${type} is ${bound}, but provided ratio is ${(lim / req).toFixed(6)}`);
  }
  return errs;
}

/** Fill a container's missing limits and requests from a Container item's default and defaultRequest. */
function applyDefaults(c: Container, item: LimitRangeItem): void {
  const def = item.default ?? {};
  const defReq = item.defaultRequest ?? {};
  if (!Object.keys(def).length && !Object.keys(defReq).length) return;
  const r = (c.resources ??= {});
  for (const [res, v] of Object.entries(def)) if (r.limits?.[res] === undefined) (r.limits ??= {})[res] = v;
  for (const [res, v] of Object.entries(defReq)) if (r.requests?.[res] === undefined) (r.requests ??= {})[res] = v;
}

const strings = (l: ResourceList | undefined): Values => Object.fromEntries(Object.entries(l ?? {}).map(([k, v]) => [k, String(v)]));

/** A Pod's requests and limits summed over its containers; a limit only when every container has one. */
function podTotals(pod: Pod): { requests: Values; limits: Values } {
  const containers = pod.spec?.containers ?? [];
  const sum = (pick: (c: Container) => ResourceList | undefined, all: boolean): Values => {
    const names = new Set(containers.flatMap((c) => Object.keys(pick(c) ?? {})));
    const out: Values = {};
    for (const n of names) {
      if (all && containers.some((c) => pick(c)?.[n] === undefined)) continue;
      out[n] = format(n, containers.reduce((s, c) => s + (milli(pick(c)?.[n]) ?? 0), 0));
    }
    return out;
  };
  return { requests: sum((c) => c.resources?.requests, false), limits: sum((c) => c.resources?.limits, true) };
}

/** Aggregate errors as Kubernetes prints them: one alone, several in brackets. */
const aggregate = (errs: string[]): string => ([...new Set(errs)].length === 1 ? errs[0] : `[${[...new Set(errs)].join(', ')}]`);

export class LimitRanger {
  private readonly limitRangeType: ResourceType;

  constructor(
    private readonly store: Store,
    registry: Registry,
  ) {
    const rt = registry.resource('', 'v1', 'limitranges');
    if (!rt) throw new Error('LimitRange is not served');
    this.limitRangeType = rt;
  }

  for(rt: ResourceType): Allocator {
    return { reserve: (obj, old) => this.admit(rt, obj, old), release: async () => undefined };
  }

  private async items(ns: string): Promise<LimitRangeItem[]> {
    const page = await this.store.list(collectionPrefix(this.limitRangeType, ns));
    return page.items
      .map((kv) => decode(kv.value, kv.revision))
      .sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)))
      .flatMap((lr) => ((lr.spec?.limits ?? []) as LimitRangeItem[]));
  }

  private async admit(rt: ResourceType, obj: KubeObject, old: KubeObject | undefined): Promise<Reservation> {
    const ns = obj.metadata.namespace;
    const instance = rt.group === 'lodge.dev' && rt.plural === 'instances';
    // Kubernetes applies LimitRanges when objects are created; resources of a stored Pod do not change. An Instance's may (a resize): its bounds hold then too.
    if (!ns || (old && !(instance && resized(obj, old)))) return NOTHING;
    const items = await this.items(ns);
    if (!items.length) return NOTHING;
    const errs = rt.plural === 'pods' ? this.pod(rt, obj as Pod, items) : instance ? admitInstance(rt, obj, !old, items) : this.claim(obj, items);
    if (errs.length) throw admissionForbidden(rt, obj.metadata.name, aggregate(errs));
    return NOTHING;
  }

  private pod(rt: ResourceType, pod: Pod, items: LimitRangeItem[]): string[] {
    const containers = [...(pod.spec?.containers ?? []), ...((pod.spec?.initContainers ?? []) as Container[])];
    for (const item of items) if (item.type === 'Container') for (const c of containers) applyDefaults(c, item);
    // Defaults may put a request above a limit the user gave: the same 422 validation would give.
    containers.forEach((c, i) => {
      for (const [res, req] of Object.entries(c.resources?.requests ?? {})) {
        const lim = c.resources?.limits?.[res];
        if (lim !== undefined && milli(req)! > milli(lim)!)
          throw invalid(rt, String(pod.metadata.name), [
            { field: `spec.containers[${i}].resources.requests`, reason: 'FieldValueInvalid', message: `Invalid value: "${String(req)}": must be less than or equal to ${res} limit of ${String(lim)}` },
          ]);
      }
    });
    const errs: string[] = [];
    for (const item of items) {
      if (item.type === 'Container')
        for (const c of containers) errs.push(...boundErrors('Container', item, strings(c.resources?.requests), strings(c.resources?.limits)));
      if (item.type === 'Pod') {
        const t = podTotals(pod);
        errs.push(...boundErrors('Pod', item, t.requests, t.limits));
      }
    }
    return errs;
  }

  private claim(obj: KubeObject, items: LimitRangeItem[]): string[] {
    const res = (obj.spec?.resources ?? {}) as { requests?: ResourceList; limits?: ResourceList };
    const errs: string[] = [];
    for (const item of items)
      if (item.type === 'PersistentVolumeClaim')
        errs.push(...boundErrors('PersistentVolumeClaim', { type: item.type, min: item.min, max: item.max }, strings(res.requests), strings(res.limits), { limitsKnown: false }));
    return errs;
  }
}
