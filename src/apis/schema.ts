// A small builder for OpenAPI v3 (structural) schemas. Every kind's schema is
// written with these helpers; the same schema drives validation, defaulting,
// pruning, strategic-merge keys, /openapi/v2 and /v3 and `kubectl explain`.

export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema | boolean;
  items?: Schema;
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  /** Reference to a shared definition by its OpenAPI name, e.g. 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'. */
  $ref?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  /** Strategic merge patch: the key that identifies list items. */
  'x-kubernetes-patch-merge-key'?: string;
  /** Strategic merge patch: 'merge' or 'retainKeys' or 'merge,retainKeys'. */
  'x-kubernetes-patch-strategy'?: string;
  /** Server-side apply list semantics: 'atomic' | 'set' | 'map'. */
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-group-version-kind'?: Array<{ group: string; version: string; kind: string }>;
}

type Opts = Pick<Schema, 'description' | 'default' | 'enum' | 'pattern' | 'format' | 'minimum' | 'maximum' | 'minLength' | 'maxLength'>;

export const str = (description?: string, o: Opts = {}): Schema => ({ type: 'string', description, ...o });
export const int32 = (description?: string, o: Opts = {}): Schema => ({ type: 'integer', format: 'int32', description, ...o });
export const int64 = (description?: string, o: Opts = {}): Schema => ({ type: 'integer', format: 'int64', description, ...o });
export const num = (description?: string, o: Opts = {}): Schema => ({ type: 'number', format: 'double', description, ...o });
export const bool = (description?: string, o: Opts = {}): Schema => ({ type: 'boolean', description, ...o });
export const time = (description?: string): Schema => ({ type: 'string', format: 'date-time', description });
export const enumOf = (values: string[], description?: string, o: Opts = {}): Schema => ({ type: 'string', enum: values, description, ...o });

/** An object with known fields; unknown fields are rejected (strict) or pruned. */
export function obj(properties: Record<string, Schema>, o: Opts & { required?: string[] } = {}): Schema {
  const s: Schema = { type: 'object', properties, ...o };
  if (!o.required?.length) delete s.required;
  return s;
}

/** An object whose contents Lodge does not model (kept as sent). */
export const freeform = (description?: string): Schema => ({ type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true });

/** map[string]V */
export const mapOf = (value: Schema, description?: string): Schema => ({ type: 'object', additionalProperties: value, description });
export const stringMap = (description?: string): Schema => mapOf({ type: 'string' }, description);

export interface ListOpts {
  description?: string;
  /** Items are merged by this key (strategic merge patch and server-side apply). */
  mergeKey?: string;
  /** Extra keys for server-side apply when the identity of an item is several fields. */
  mapKeys?: string[];
  /** 'set' for lists of scalars merged as sets. */
  listType?: 'atomic' | 'set' | 'map';
  patchStrategy?: string;
}

/** []T. With mergeKey, lists merge by key (patch strategy merge, list-type map). */
export function arr(items: Schema, o: ListOpts = {}): Schema {
  const s: Schema = { type: 'array', items, description: o.description };
  if (o.mergeKey) {
    s['x-kubernetes-patch-merge-key'] = o.mergeKey;
    s['x-kubernetes-patch-strategy'] = o.patchStrategy ?? 'merge';
    s['x-kubernetes-list-type'] = 'map';
    s['x-kubernetes-list-map-keys'] = o.mapKeys ?? [o.mergeKey];
  } else if (o.listType) {
    s['x-kubernetes-list-type'] = o.listType;
    if (o.patchStrategy) s['x-kubernetes-patch-strategy'] = o.patchStrategy;
  } else if (o.patchStrategy) {
    s['x-kubernetes-patch-strategy'] = o.patchStrategy;
  }
  return s;
}

/** int-or-string, as Kubernetes' IntOrString (ports, maxSurge). */
export const intOrString = (description?: string): Schema => ({ 'x-kubernetes-int-or-string': true, description, format: 'int-or-string' });
/** A resource quantity ("500m", "1Gi", 2). */
export const quantity = (description?: string): Schema => ({ 'x-kubernetes-int-or-string': true, description, format: 'quantity' });

/** A $ref to a named definition (see definitions.ts). */
export const ref = (name: string, description?: string): Schema => (description ? { $ref: name, description } : { $ref: name });

/** Give a schema a description without changing it. */
export const describe = (s: Schema, description: string): Schema => ({ ...s, description });
