// What changed between two versions of an object, as field sets: the basis
// of ownership. Added and removed values count with their whole subtree
// (every entry and item on the way is a member); changes to an existing leaf
// count as modified. Atomic values are single leaves.
import type { Schema } from '../../apis/schema.js';
import { FieldSet, sortedFieldKeys, sortedIndexes, type PathElement } from './fieldset.js';
import { isObject, jsonEqual, type JsonObject } from './json.js';
import { declaredFields, type SchemaNav } from './schema-nav.js';
import { atomOf, itemElements, type ListAtom } from './ssa-atoms.js';

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** Compare `before` and `after` (undefined = empty object); paths under a member of `ignore` are skipped. */
export function compareObjects(nav: SchemaNav, before: unknown, after: unknown, s: Schema | undefined, ignore?: FieldSet): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  new Walker(nav, c).both(before ?? {}, after ?? {}, s, ignore);
  return c;
}

export function isUnchanged(c: Comparison): boolean {
  return c.added.isEmpty() && c.modified.isEmpty() && c.removed.isEmpty();
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

// Most of two versions of an object is the same: a value equal to its
// counterpart (sameJson) is skipped without looking at its schema, since
// comparing it would find nothing. Everything else is walked as before,
// inserting into the result sets through the node at hand rather than
// from the root, and inserting the children of a new subtree in
// Kubernetes' order so that encoding it needs no sorting.
class Walker {
  /** Path elements of the value being compared (only `both` and `lists` move it). */
  private readonly path: PathElement[] = [];

  constructor(
    private readonly nav: SchemaNav,
    private readonly c: Comparison,
  ) {}

  /** Both sides present. */
  both(l: unknown, r: unknown, s: Schema | undefined, ignore: FieldSet | undefined): void {
    if (l === r) return;
    const la = atomOf(this.nav, s, l);
    const ra = atomOf(this.nav, s, r);
    if (la.kind !== ra.kind || la.kind === 'leaf' || bothEmpty(l, r)) {
      if (!jsonEqual(l, r)) this.c.modified.insert(this.path);
      return;
    }
    if (ra.kind === 'map' && isObject(l) && isObject(r)) this.maps(l, r, ra.schema, ignore);
    else if (ra.kind === 'list' && Array.isArray(l) && Array.isArray(r)) this.lists(l, r, ra);
  }

  private maps(l: JsonObject, r: JsonObject, s: Schema | undefined, ignore: FieldSet | undefined): void {
    const path = this.path;
    const props = s && declaredFields(s);
    for (const k of Object.keys(l)) {
      const lv = l[k];
      const inR = hasOwn(r, k);
      if (inR && sameJson(lv, r[k])) continue;
      const d = props && props.get(k);
      const pe = d ? d.pe : `f:${k}`;
      const ig = ignore?.child(pe);
      if (ig?.member) continue;
      const cs = d ? this.nav.declared(d) : this.nav.additional(s);
      path.push(pe);
      if (inR) this.both(lv, r[k], cs, ig);
      else this.all(lv, cs, nodeAt(this.c.removed, path), ig);
      path.pop();
    }
    for (const k of Object.keys(r)) {
      if (hasOwn(l, k)) continue;
      const d = props && props.get(k);
      const pe = d ? d.pe : `f:${k}`;
      const ig = ignore?.child(pe);
      if (ig?.member) continue;
      const cs = d ? this.nav.declared(d) : this.nav.additional(s);
      path.push(pe);
      this.all(r[k], cs, nodeAt(this.c.added, path), ig);
      path.pop();
    }
  }

  private lists(l: unknown[], r: unknown[], atom: ListAtom): void {
    const path = this.path;
    const lp = itemElements(l, atom);
    const rp = itemElements(r, atom);
    // Items without identities (or duplicated): the list can only be compared whole.
    if (typeof lp === 'string' || typeof rp === 'string') {
      if (!jsonEqual(l, r)) this.c.modified.insert(path);
      return;
    }
    // Usually the same items in the same order: pair them by position.
    let aligned = lp.length === rp.length;
    for (let i = 0; aligned && i < lp.length; i++) aligned = lp[i] === rp[i];
    if (aligned) {
      for (let i = 0; i < lp.length; i++) {
        if (sameJson(l[i], r[i])) continue;
        path.push(lp[i]);
        this.both(l[i], r[i], atom.items, undefined);
        path.pop();
      }
      return;
    }
    const right = new Map<PathElement, number>();
    for (let i = 0; i < rp.length; i++) right.set(rp[i], i);
    for (let i = 0; i < lp.length; i++) {
      const j = right.get(lp[i]);
      if (j !== undefined && sameJson(l[i], r[j])) continue;
      path.push(lp[i]);
      if (j !== undefined) this.both(l[i], r[j], atom.items, undefined);
      else this.all(l[i], atom.items, nodeAt(this.c.removed, path));
      path.pop();
    }
    const left = new Set(lp);
    for (let j = 0; j < rp.length; j++) {
      if (left.has(rp[j])) continue;
      path.push(rp[j]);
      this.all(r[j], atom.items, nodeAt(this.c.added, path));
      path.pop();
    }
  }

  /** A value present on one side only: it and everything in it (but ignored paths) are members, from `node` down. */
  private all(v: unknown, s: Schema | undefined, node: FieldSet, ignore?: FieldSet): void {
    node.member = true;
    if (typeof v !== 'object' || v === null) return;
    const atom = atomOf(this.nav, s, v);
    if (atom.kind === 'map') {
      const o = v as JsonObject;
      const ms = atom.schema;
      const props = ms && declaredFields(ms);
      for (const k of sortedFieldKeys(o)) {
        const d = props && props.get(k);
        const pe = d ? d.pe : `f:${k}`;
        const ig = ignore?.child(pe);
        if (ig?.member) continue;
        this.all(o[k], d ? this.nav.declared(d) : this.nav.additional(ms), node.ensure(pe), ig);
      }
    } else if (atom.kind === 'list') {
      const list = v as unknown[];
      const pes = itemElements(list, atom);
      if (typeof pes === 'string') return;
      for (const i of sortedIndexes(pes)) this.all(list[i], atom.items, node.ensure(pes[i]));
    }
  }
}

/** The node at `path` in `set`, created (as a non-member) where missing. */
function nodeAt(set: FieldSet, path: readonly PathElement[]): FieldSet {
  let n = set;
  for (const pe of path) n = n.ensure(pe);
  return n;
}

/**
 * Equal JSON, object keys in the same order. Comparing two such values finds
 * no change: the walk over each side visits the same keys, computes the same
 * item identities (JSON.stringify of equal values in equal order) and ends in
 * equal leaves. Key order matters only for that: identities of items keyed by
 * an object value. Two versions of a stored object nearly always list keys in
 * the same order; when not, the walk simply goes on to look deeper.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i];
    if (k !== kb[i] || !sameJson((a as JsonObject)[k], (b as JsonObject)[k])) return false;
  }
  return true;
}

/** Two empty maps or lists compare as leaves, so {} vs [] or {} vs null still register. */
function bothEmpty(l: unknown, r: unknown): boolean {
  return isEmptyValue(l) && isEmptyValue(r);
}

function isEmptyValue(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (!isObject(v)) return false;
  for (const k in v) if (hasOwn(v, k)) return false;
  return true;
}
