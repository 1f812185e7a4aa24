// Reading the x-kubernetes-* extensions both patch algorithms are driven by.
// `undefined` as a schema means "untyped": a field the schema does not
// describe, or an object that preserves unknown fields. Untyped parts merge as
// plain JSON (strategic merge patch) or as deduced maps (server-side apply).
import type { Schema } from '../../apis/schema.js';

export type Resolve = (s: Schema) => Schema;

export type ListType = 'atomic' | 'set' | 'map';

/**
 * A declared property of an object schema, as the ownership walkers need it
 * for every key they visit. Cached per schema object (see `declaredFields`).
 */
export interface DeclaredField {
  /** The path element of the key, `f:<key>`, made once instead of per visit. */
  readonly pe: string;
  /** The property's schema as written; may be a $ref. */
  readonly raw: Schema | undefined;
  /** Whether `raw` is a $ref, whose target only the caller's resolver knows. */
  readonly ref: boolean;
  /** `raw` resolved, when that needs no resolver (`ref` false). */
  readonly direct: Schema | undefined;
}

// Per object schema, all its declared properties by key, made on first use.
// Only what follows from the schema object itself is kept, never what a
// resolver says: the resolver comes with each call (a fresh bound function
// every time), and a schema object could in principle be resolved by
// different registries. Schemas are built once and never modified, so
// entries never go stale; WeakMap, so schemas made at run time are dropped
// with them.
const declaredCache = new WeakMap<Schema, ReadonlyMap<string, DeclaredField>>();
const NO_PROPERTIES: ReadonlyMap<string, DeclaredField> = new Map();

/** The declared properties of object schema `s` (resolved), by key. */
export function declaredFields(s: Schema): ReadonlyMap<string, DeclaredField> {
  const p = s.properties;
  if (!p) return NO_PROPERTIES;
  let byKey = declaredCache.get(s);
  if (!byKey) {
    const m = new Map<string, DeclaredField>();
    // Own names, enumerable or not: what hasOwnProperty would find.
    for (const key of Object.getOwnPropertyNames(p)) {
      const raw: Schema | undefined = p[key];
      const ref = !!raw?.$ref;
      m.set(key, { pe: `f:${key}`, raw, ref, direct: ref || !raw ? undefined : unlessFreeform(raw) });
    }
    declaredCache.set(s, (byKey = m));
  }
  return byKey;
}

/** The declared property `key` of object schema `s` (resolved), or undefined. */
export function declaredField(s: Schema, key: string): DeclaredField | undefined {
  return declaredFields(s).get(key);
}

export class SchemaNav {
  constructor(private readonly resolveRef: Resolve) {}

  /** Follow $ref; untyped (freeform) objects come back as undefined. */
  resolve(s: Schema | undefined): Schema | undefined {
    if (!s) return undefined;
    const r = s.$ref ? this.resolveRef(s) : s;
    return isFreeform(r) ? undefined : r;
  }

  /** Schema of `key` in object schema `s` (resolved), undefined when untyped. */
  field(s: Schema | undefined, key: string): Schema | undefined {
    if (!s) return undefined;
    const d = declaredField(s, key);
    if (d) return d.ref ? this.resolve(d.raw) : d.direct;
    const ap = s.additionalProperties;
    return typeof ap === 'object' ? this.resolve(ap) : undefined;
  }

  /** Schema of a declared property (resolved). */
  declared(d: DeclaredField): Schema | undefined {
    return d.ref ? this.resolve(d.raw) : d.direct;
  }

  /** Schema of the keys `s` does not declare (additionalProperties, resolved). */
  additional(s: Schema | undefined): Schema | undefined {
    const ap = s?.additionalProperties;
    return typeof ap === 'object' ? this.resolve(ap) : undefined;
  }

  /** Whether `key` is a declared property (a "named field" in server-side apply terms). */
  isNamedField(s: Schema | undefined, key: string): boolean {
    return !!s?.properties && Object.prototype.hasOwnProperty.call(s.properties, key);
  }

  /** Item schema of a list schema (resolved). */
  items(s: Schema | undefined): Schema | undefined {
    return s ? this.resolve(s.items) : undefined;
  }
}

function unlessFreeform(s: Schema): Schema | undefined {
  return isFreeform(s) ? undefined : s;
}

/** An object schema whose unknown keys are kept as sent and that declares nothing itself. */
function isFreeform(s: Schema): boolean {
  return !!s['x-kubernetes-preserve-unknown-fields'] && !s.properties && typeof s.additionalProperties !== 'object' && !s.items;
}

export function isObjectSchema(s: Schema): boolean {
  return s.type === 'object' || !!s.properties || typeof s.additionalProperties === 'object';
}

export function isArraySchema(s: Schema): boolean {
  return s.type === 'array' || !!s.items;
}

// ---- strategic merge patch ------------------------------------------------

export function patchStrategies(s: Schema | undefined): string[] {
  const v = s?.['x-kubernetes-patch-strategy'];
  return v ? v.split(',').map((x) => x.trim()) : [];
}

export function patchMergeKey(s: Schema | undefined): string | undefined {
  return s?.['x-kubernetes-patch-merge-key'] || undefined;
}

// ---- server-side apply -----------------------------------------------------

/**
 * How server-side apply treats a list. Without an explicit list-type, a list
 * with a patch merge key is a map keyed by it and a merged list of scalars is
 * a set, as Kubernetes derives for its built-in types; everything else is atomic.
 */
export function listSemantics(s: Schema): { type: ListType; keys: string[] } {
  const explicit = s['x-kubernetes-list-type'];
  const mergeKey = patchMergeKey(s);
  const keys = s['x-kubernetes-list-map-keys'] ?? (mergeKey ? [mergeKey] : []);
  if (explicit === 'map') return keys.length ? { type: 'map', keys } : { type: 'atomic', keys: [] };
  if (explicit) return { type: explicit, keys: [] };
  if (mergeKey) return { type: 'map', keys };
  if (patchStrategies(s).includes('merge')) return { type: 'set', keys: [] };
  return { type: 'atomic', keys: [] };
}

export function isAtomicMap(s: Schema): boolean {
  return s['x-kubernetes-map-type'] === 'atomic';
}
