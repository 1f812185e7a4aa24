// Verbatim copy of src/api/patch at commit 8041a40 (the reference implementation; see ../reference-track.ts).
// Reading the x-kubernetes-* extensions both patch algorithms are driven by.
// `undefined` as a schema means "untyped": a field the schema does not
// describe, or an object that preserves unknown fields. Untyped parts merge as
// plain JSON (strategic merge patch) or as deduced maps (server-side apply).
import type { Schema } from '../../../src/apis/schema.js';

export type Resolve = (s: Schema) => Schema;

export type ListType = 'atomic' | 'set' | 'map';

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
    const p = s.properties;
    if (p && Object.prototype.hasOwnProperty.call(p, key)) return this.resolve(p[key]);
    const ap = s.additionalProperties;
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
