// Verbatim copy of src/api/patch at commit 8041a40 (the reference implementation; see ../reference-track.ts).
// How server-side apply sees a value: a leaf (scalars, atomic lists and
// maps, anything whose shape does not match the schema), a granular map, or a
// list whose items have identities (list-type set or map). Untyped values are
// deduced as Kubernetes does: objects are granular maps, lists are atomic.
import type { Schema } from '../../../src/apis/schema.js';
import { fieldElement, keyElement, valueElement, type PathElement } from './fieldset.js';
import { isObject, isScalar } from './json.js';
import { SchemaNav, isArraySchema, isAtomicMap, isObjectSchema, listSemantics } from './schema-nav.js';

export type Atom =
  | { kind: 'leaf' }
  | { kind: 'map'; schema: Schema | undefined }
  | { kind: 'list'; type: 'set' | 'map'; keys: string[]; items: Schema | undefined; keyDefaults: Map<string, unknown> };

const LEAF: Atom = { kind: 'leaf' };

export function atomOf(nav: SchemaNav, s: Schema | undefined, v: unknown): Atom {
  if (isObject(v)) {
    if (!s) return { kind: 'map', schema: undefined };
    return isObjectSchema(s) && !isAtomicMap(s) ? { kind: 'map', schema: s } : LEAF;
  }
  if (Array.isArray(v) && s && isArraySchema(s)) return listAtom(nav, s);
  return LEAF;
}

function listAtom(nav: SchemaNav, s: Schema): Atom {
  const sem = listSemantics(s);
  if (sem.type === 'atomic') return LEAF;
  const items = nav.items(s);
  const keyDefaults = new Map<string, unknown>();
  for (const k of sem.keys) {
    const d = nav.field(items, k)?.default;
    if (d !== undefined) keyDefaults.set(k, d);
  }
  return { kind: 'list', type: sem.type, keys: sem.keys, items, keyDefaults };
}

/** Path element of map key `k`, and the schema of its value. */
export function mapChild(nav: SchemaNav, atom: Extract<Atom, { kind: 'map' }>, k: string): [PathElement, Schema | undefined, boolean] {
  return [fieldElement(k), nav.field(atom.schema, k), nav.isNamedField(atom.schema, k)];
}

/**
 * The identity of each item of a set or map list, or a message saying why
 * the list has none (an item without a key, an object in a set, duplicates).
 */
export function itemElements(list: readonly unknown[], atom: Extract<Atom, { kind: 'list' }>): PathElement[] | string {
  const out: PathElement[] = [];
  const seen = new Set<PathElement>();
  for (let i = 0; i < list.length; i++) {
    const pe = itemElement(list[i], atom);
    if (pe.startsWith('!')) return `element ${i}: ${pe.slice(1)}`;
    if (seen.has(pe)) return `duplicate entries for key ${pe.slice(2)}`;
    seen.add(pe);
    out.push(pe);
  }
  return out;
}

/** A path element, or a message prefixed with "!" when the item cannot be identified. */
function itemElement(item: unknown, atom: Extract<Atom, { kind: 'list' }>): string {
  if (atom.type === 'set') return isScalar(item) ? valueElement(item) : '!items of a list-type set must be scalars';
  if (!isObject(item)) return '!items of a list-type map must be objects';
  const fields: Array<[string, unknown]> = [];
  for (const key of atom.keys) {
    const v = item[key] ?? atom.keyDefaults.get(key);
    if (v === undefined) return `!associative list with keys has an element that omits key field "${key}" (and doesn't have default value)`;
    fields.push([key, v]);
  }
  return keyElement(fields);
}
