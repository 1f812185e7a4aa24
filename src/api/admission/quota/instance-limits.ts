// LimitRange admission for Instances (LimitRange items of type
// lodge.dev/Instance): a created Instance that leaves spec.cpu or
// spec.memory to the defaults gets the namespace's default instead of
// Lodge's built-in one; then min and max bound both fields, at create and
// whenever a resize changes them, refused in the limit ranger's words with
// the Instance's field named.
import { INSTANCE_LIMIT_TYPE } from '../../../apis/core/v1/limitrange.js';
import { sizesDefaultedByLodge, type SizeField } from '../../../apis/lodge/v1alpha1/instance.js';
import type { InstanceSpec } from '../../../apis/lodge/v1alpha1/instance-types.js';
import { validateInstanceSpec } from '../../../apis/lodge/v1alpha1/instance-validation.js';
import type { KubeObject, ResourceType } from '../../../apis/types.js';
import { invalid } from '../../status.js';
import { milli } from './amounts.js';
import type { LimitRangeItem } from './limit-ranger.js';

const FIELDS: readonly SizeField[] = ['cpu', 'memory'];

/** Whether an update changes the Instance's size (only then are its bounds checked again). */
export function resized(obj: KubeObject, old: KubeObject): boolean {
  return FIELDS.some((f) => String(obj.spec?.[f] ?? '') !== String(old.spec?.[f] ?? ''));
}

/** Apply defaults (create only) and return the bound violations of an Instance; throws 422 when a default makes the Instance invalid. */
export function admitInstance(rt: ResourceType, obj: KubeObject, creating: boolean, items: LimitRangeItem[]): string[] {
  const mine = items.filter((i) => i.type === INSTANCE_LIMIT_TYPE);
  const spec = obj.spec as InstanceSpec | undefined;
  if (!mine.length || !spec) return [];
  if (creating && applyDefaults(spec, mine)) {
    // The default was not there when the Instance was validated: a VM needs whole vCPUs and at least 64Mi.
    const errs = validateInstanceSpec(spec);
    if (errs.length) throw invalid(rt, String(obj.metadata.name), errs.map((e) => ({ ...e, message: `${e.message} (the default of a LimitRange in namespace ${obj.metadata.namespace})` })));
  }
  return mine.flatMap((item) => boundErrors(item, spec));
}

/** The first item's default for each field the writer left unset (or to Lodge's built-in default). True when any was applied. */
function applyDefaults(spec: InstanceSpec, items: LimitRangeItem[]): boolean {
  const builtIn = sizesDefaultedByLodge(spec);
  const open = new Set(FIELDS.filter((f) => spec[f] === undefined || builtIn.has(f)));
  let applied = false;
  for (const item of items)
    for (const f of [...open]) {
      const v = item.default?.[f];
      if (v === undefined) continue;
      spec[f] = v as InstanceSpec[SizeField];
      open.delete(f);
      applied = true;
    }
  return applied;
}

/** Kubernetes' min/max constraint wording, for the one value an Instance has per resource. */
function boundErrors(item: LimitRangeItem, spec: InstanceSpec): string[] {
  const errs: string[] = [];
  const value = (f: string): string | undefined => (spec[f as SizeField] === undefined ? undefined : String(spec[f as SizeField]));
  for (const [res, bound] of Object.entries(item.min ?? {})) {
    const v = value(res);
    if (v === undefined) errs.push(`minimum ${res} usage per Instance is ${bound}.  No spec.${res} is specified`);
    else if (milli(v)! < milli(bound)!) errs.push(`minimum ${res} usage per Instance is ${bound}, but spec.${res} is ${v}`);
  }
  for (const [res, bound] of Object.entries(item.max ?? {})) {
    const v = value(res);
    if (v === undefined) errs.push(`maximum ${res} usage per Instance is ${bound}.  No spec.${res} is specified`);
    else if (milli(v)! > milli(bound)!) errs.push(`maximum ${res} usage per Instance is ${bound}, but spec.${res} is ${v}`);
  }
  return errs;
}
