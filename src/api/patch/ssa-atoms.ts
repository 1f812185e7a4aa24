// How server-side apply sees a value: a leaf (scalars, atomic lists and
// maps, anything whose shape does not match the schema), a granular map, or a
// list whose items have identities (list-type set or map). Untyped values are
// deduced as Kubernetes does: objects are granular maps, lists are atomic.
//
// Every walker asks this for every value it visits, so the answers that
// depend only on a schema object are computed once per schema and cached
// (WeakMaps keyed by the schema; schemas are never modified). Atoms are
// shared: nobody may modify one.
import type { Schema } from '../../apis/schema.js';
import { type PathElement } from './fieldset.js';
import { isObject, isScalar } from './json.js';
import { SchemaNav, declaredField, isArraySchema, isAtomicMap, isObjectSchema, listSemantics, type ListType } from './schema-nav.js';

export type ListAtom = {
  kind: 'list';
  type: 'set' | 'map';
  keys: string[];
  items: Schema | undefined;
  keyDefaults: Map<string, unknown>;
  /** Indexes into `keys` in the order k: elements list them (sorted by name), and each name as JSON. */
  keyOrder: number[];
  keyNames: string[];
};

export type Atom = { kind: 'leaf' } | { kind: 'map'; schema: Schema | undefined } | ListAtom;

const LEAF: Atom = { kind: 'leaf' };
const UNTYPED_MAP: Atom = { kind: 'map', schema: undefined };

/** Per object schema: its map atom, or LEAF for atomic maps and non-object schemas. */
const objectAtoms = new WeakMap<Schema, Atom>();

/** Per list schema: its semantics, and the atom last built for it with the item schema it was built for. */
const listAtoms = new WeakMap<Schema, { type: ListType; keys: string[]; items?: Schema; atom?: ListAtom }>();

export function atomOf(nav: SchemaNav, s: Schema | undefined, v: unknown): Atom {
  if (typeof v !== 'object' || v === null) return LEAF;
  if (!Array.isArray(v)) {
    if (!s) return UNTYPED_MAP;
    let a = objectAtoms.get(s);
    if (!a) objectAtoms.set(s, (a = isObjectSchema(s) && !isAtomicMap(s) ? { kind: 'map', schema: s } : LEAF));
    return a;
  }
  if (s && isArraySchema(s)) return listAtom(nav, s);
  return LEAF;
}

function listAtom(nav: SchemaNav, s: Schema): Atom {
  let c = listAtoms.get(s);
  if (!c) listAtoms.set(s, (c = listSemantics(s)));
  if (c.type === 'atomic') return LEAF;
  // The item schema comes from the caller's resolver when it is a $ref, so
  // it is resolved every time and the cached atom used only when it was
  // built for that very item schema.
  const items = nav.items(s);
  if (c.atom && c.items === items) return c.atom;
  const keyDefaults = new Map<string, unknown>();
  let cacheable = true;
  for (const k of c.keys) {
    const d = nav.field(items, k)?.default;
    if (d !== undefined) keyDefaults.set(k, d);
    // A key field whose schema is itself a $ref (or comes through one) has
    // a default only the resolver knows: such an atom is not cached.
    if (items && fieldNeedsResolver(items, k)) cacheable = false;
  }
  const keyOrder = c.keys.map((_, i) => i).sort((a, b) => (c.keys[a] < c.keys[b] ? -1 : c.keys[a] > c.keys[b] ? 1 : 0));
  const atom: ListAtom = { kind: 'list', type: c.type, keys: c.keys, items, keyDefaults, keyOrder, keyNames: keyOrder.map((i) => JSON.stringify(c.keys[i])) };
  if (cacheable) {
    c.items = items;
    c.atom = atom;
  }
  return atom;
}

function fieldNeedsResolver(s: Schema, key: string): boolean {
  const d = declaredField(s, key);
  if (d) return d.ref;
  const ap = s.additionalProperties;
  return typeof ap === 'object' && ap !== null && !!ap.$ref;
}

/**
 * The identity of each item of a set or map list, or a message saying why
 * the list has none (an item without a key, an object in a set, duplicates).
 */
export function itemElements(list: readonly unknown[], atom: ListAtom): PathElement[] | string {
  const n = list.length;
  const out: PathElement[] = [];
  // Short lists (nearly all) look for duplicates by scanning; long ones by a Set.
  const seen = n > 16 ? new Set<PathElement>() : undefined;
  for (let i = 0; i < n; i++) {
    const pe = itemElement(list[i], atom);
    if (pe.charCodeAt(0) === 33 /* ! */) return `element ${i}: ${pe.slice(1)}`;
    if (seen ? seen.has(pe) : indexBefore(out, pe, i)) return `duplicate entries for key ${pe.slice(2)}`;
    seen?.add(pe);
    out.push(pe);
  }
  return out;
}

function indexBefore(a: readonly string[], x: string, end: number): boolean {
  for (let i = 0; i < end; i++) if (a[i] === x) return true;
  return false;
}

/**
 * A path element, or a message prefixed with "!" when the item cannot be
 * identified. The k: form is keyElement()'s: `k:{"name":"value",...}` with
 * the key names sorted, written here without the intermediate arrays.
 */
function itemElement(item: unknown, atom: ListAtom): string {
  if (atom.type === 'set') return isScalar(item) ? `v:${JSON.stringify(item)}` : '!items of a list-type set must be scalars';
  if (!isObject(item)) return '!items of a list-type map must be objects';
  const keys = atom.keys;
  if (keys.length === 1) {
    const key = keys[0];
    const v = item[key] ?? atom.keyDefaults.get(key);
    if (v === undefined) return missingKey(key);
    return `k:{${atom.keyNames[0]}:${JSON.stringify(v)}}`;
  }
  const values: unknown[] = new Array<unknown>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const v = item[key] ?? atom.keyDefaults.get(key);
    if (v === undefined) return missingKey(key);
    values[i] = v;
  }
  let pe = 'k:{';
  for (let j = 0; j < atom.keyOrder.length; j++) {
    if (j) pe += ',';
    pe += `${atom.keyNames[j]}:${JSON.stringify(values[atom.keyOrder[j]])}`;
  }
  return `${pe}}`;
}

function missingKey(key: string): string {
  return `!associative list with keys has an element that omits key field "${key}" (and doesn't have default value)`;
}
