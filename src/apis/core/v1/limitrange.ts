// LimitRange: per-object bounds and defaults in a namespace — min, max and
// limit/request ratio of each Container, Pod and PersistentVolumeClaim, and
// the requests and limits a container gets when it states none; and, as
// Lodge's type lodge.dev/Instance, min, max and default of an Instance's
// spec.cpu and spec.memory. Enforced by LimitRange admission when Pods,
// claims and Instances are created (and Instances resized).
import { column } from '../../columns.js';
import { arr, obj, str, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { kindDefinition } from '../../meta/v1.js';
import { forbidden, invalid, notSupported, required } from './field-errors.js';
import { parseQuantity } from './quantity.js';
import { resourceList } from './resources.js';
import { core, coreGVK, coreRef } from './names.js';

type Item = { type?: string; default?: Record<string, string>; defaultRequest?: Record<string, string>; min?: Record<string, string>; max?: Record<string, string>; maxLimitRequestRatio?: Record<string, string> };
type LimitRange = KubeObject & { spec?: { limits?: Item[] } };

/** Lodge's own item type: bounds and defaults of an Instance's spec.cpu and spec.memory. */
export const INSTANCE_LIMIT_TYPE = 'lodge.dev/Instance';
const TYPES = ['Container', 'Pod', 'PersistentVolumeClaim', INSTANCE_LIMIT_TYPE];
const INSTANCE_RESOURCES = ['cpu', 'memory'];

export const limitRangeDefinitions: Record<string, Schema> = {
  [core('LimitRange')]: kindDefinition(coreGVK('LimitRange'), 'Bounds and defaults of resources per object in a namespace.', {
    spec: coreRef('LimitRangeSpec', 'The limits enforced.'),
  }),
  [core('LimitRangeSpec')]: obj(
    { limits: arr(coreRef('LimitRangeItem'), { listType: 'atomic', description: 'Limits, each for one type of object.' }) },
    { required: ['limits'], description: 'The limits of a LimitRange.' },
  ),
  [core('LimitRangeItem')]: obj(
    {
      type: str('What the limits apply to: Container, Pod, PersistentVolumeClaim or lodge.dev/Instance.'),
      default: resourceList('Limits a container gets when it sets none (Container); spec.cpu/spec.memory an Instance gets when it sets none (lodge.dev/Instance).'),
      defaultRequest: resourceList('Requests a container gets when it sets none (Container only).'),
      min: resourceList('Least of each resource a request (and limit) may be.'),
      max: resourceList('Most of each resource a limit (and request) may be.'),
      maxLimitRequestRatio: resourceList('Most a limit may be as a multiple of its request.'),
    },
    { required: ['type'], description: 'Bounds and defaults for one type of object.' },
  ),
};

/** Kubernetes' LimitRangeItem defaulting for Containers: default from max, defaultRequest from default, then from min. */
function defaultItem(item: Item): void {
  if (item.type !== 'Container') return;
  const def = { ...(item.default ?? {}) };
  const defReq = { ...(item.defaultRequest ?? {}) };
  for (const [k, v] of Object.entries(item.max ?? {})) def[k] ??= v;
  for (const [k, v] of Object.entries(def)) defReq[k] ??= v;
  for (const [k, v] of Object.entries(item.min ?? {})) defReq[k] ??= v;
  if (Object.keys(def).length) item.default = def;
  if (Object.keys(defReq).length) item.defaultRequest = defReq;
}

const q = (v: string | undefined): number | undefined => (v === undefined ? undefined : parseQuantity(v));

function validateItem(item: Item, f: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!item.type) return [required(`${f}.type`)];
  if (!TYPES.includes(item.type)) errs.push(notSupported(`${f}.type`, item.type, TYPES));
  if (item.type !== 'Container') {
    // An Instance has one size (what it asks for is what it gets): a default, but no separate request nor ratio.
    if (item.default && item.type !== INSTANCE_LIMIT_TYPE) errs.push(forbidden(`${f}.default`, `may not be specified when \`type\` is '${item.type}'`));
    if (item.defaultRequest) errs.push(forbidden(`${f}.defaultRequest`, `may not be specified when \`type\` is '${item.type}'`));
  }
  if (item.type === INSTANCE_LIMIT_TYPE) {
    if (item.maxLimitRequestRatio)
      errs.push(forbidden(`${f}.maxLimitRequestRatio`, `may not be specified when \`type\` is '${INSTANCE_LIMIT_TYPE}': an Instance's spec.cpu and spec.memory are both its request and its limit`));
    for (const k of ['default', 'min', 'max'] as const)
      for (const n of Object.keys(item[k] ?? {})) if (!INSTANCE_RESOURCES.includes(n)) errs.push(notSupported(`${f}.${k}[${n}]`, n, INSTANCE_RESOURCES));
  }
  const names = new Set(['default', 'defaultRequest', 'min', 'max', 'maxLimitRequestRatio'].flatMap((k) => Object.keys((item as Record<string, Record<string, string> | undefined>)[k] ?? {})));
  for (const n of names) {
    const [min, max, def, defReq, ratio] = [q(item.min?.[n]), q(item.max?.[n]), q(item.default?.[n]), q(item.defaultRequest?.[n]), q(item.maxLimitRequestRatio?.[n])];
    if (min !== undefined && max !== undefined && min > max) errs.push(invalid(`${f}.min[${n}]`, item.min?.[n], `min value ${item.min?.[n]} is greater than max value ${item.max?.[n]}`));
    if (defReq !== undefined && max !== undefined && defReq > max) errs.push(invalid(`${f}.defaultRequest[${n}]`, item.defaultRequest?.[n], `default request value ${item.defaultRequest?.[n]} is greater than max value ${item.max?.[n]}`));
    if (defReq !== undefined && min !== undefined && defReq < min) errs.push(invalid(`${f}.defaultRequest[${n}]`, item.defaultRequest?.[n], `min value ${item.min?.[n]} is greater than default request value ${item.defaultRequest?.[n]}`));
    if (def !== undefined && max !== undefined && def > max) errs.push(invalid(`${f}.default[${n}]`, item.default?.[n], `default value ${item.default?.[n]} is greater than max value ${item.max?.[n]}`));
    if (def !== undefined && min !== undefined && def < min) errs.push(invalid(`${f}.default[${n}]`, item.default?.[n], `min value ${item.min?.[n]} is greater than default value ${item.default?.[n]}`));
    if (defReq !== undefined && def !== undefined && defReq > def) errs.push(invalid(`${f}.defaultRequest[${n}]`, item.defaultRequest?.[n], `default request value ${item.defaultRequest?.[n]} is greater than default limit value ${item.default?.[n]}`));
    if (ratio !== undefined && ratio < 1) errs.push(invalid(`${f}.maxLimitRequestRatio[${n}]`, item.maxLimitRequestRatio?.[n], 'ratio must be greater than or equal to 1'));
  }
  return errs;
}

export const limitRange: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'LimitRange',
  plural: 'limitranges',
  singular: 'limitrange',
  shortNames: ['limits'],
  namespaced: true,
  definition: core('LimitRange'),
  statusSubresource: false,
  strategicMergePatch: true,
  // kubectl shows a LimitRange's creation time, not its age.
  columns: [column('Created At', 'When the LimitRange was created.', (o) => o.metadata.creationTimestamp ?? null, { type: 'date' })],
  applyDefaults(o) {
    for (const item of (o as LimitRange).spec?.limits ?? []) defaultItem(item);
  },
  validate(o) {
    return ((o as LimitRange).spec?.limits ?? []).flatMap((item, i) => validateItem(item, `spec.limits[${i}]`));
  },
  describe(o) {
    const lines = ['Type  Resource  Min  Max  Default Request  Default Limit  Max Limit/Request Ratio', '----  --------  ---  ---  ---------------  -------------  -----------------------'];
    for (const item of (o as LimitRange).spec?.limits ?? []) {
      const names = [...new Set(['min', 'max', 'default', 'defaultRequest', 'maxLimitRequestRatio'].flatMap((k) => Object.keys((item as Record<string, Record<string, string> | undefined>)[k] ?? {})))].sort();
      for (const n of names) lines.push(`${item.type}  ${n}  ${item.min?.[n] ?? '-'}  ${item.max?.[n] ?? '-'}  ${item.defaultRequest?.[n] ?? '-'}  ${item.default?.[n] ?? '-'}  ${item.maxLimitRequestRatio?.[n] ?? '-'}`);
    }
    return lines;
  },
};
