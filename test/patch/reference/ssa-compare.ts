// Verbatim copy of src/api/patch at commit 8041a40 (the reference implementation; see ../reference-track.ts).
// What changed between two versions of an object, as field sets: the basis
// of ownership. Added and removed values count with their whole subtree
// (every entry and item on the way is a member); changes to an existing leaf
// count as modified. Atomic values are single leaves.
import type { Schema } from '../../../src/apis/schema.js';
import { FieldSet, type PathElement } from './fieldset.js';
import { isObject, jsonEqual } from './json.js';
import type { SchemaNav } from './schema-nav.js';
import { atomOf, itemElements, mapChild, type Atom } from './ssa-atoms.js';

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** Compare `before` and `after` (undefined = empty object); paths under a member of `ignore` are skipped. */
export function compareObjects(nav: SchemaNav, before: unknown, after: unknown, s: Schema | undefined, ignore?: FieldSet): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  new Walker(nav, c).both(before ?? {}, after ?? {}, s, [], ignore);
  return c;
}

export function isUnchanged(c: Comparison): boolean {
  return c.added.isEmpty() && c.modified.isEmpty() && c.removed.isEmpty();
}

class Walker {
  constructor(
    private readonly nav: SchemaNav,
    private readonly c: Comparison,
  ) {}

  /** Both sides present. */
  both(l: unknown, r: unknown, s: Schema | undefined, path: PathElement[], ignore: FieldSet | undefined): void {
    const la = atomOf(this.nav, s, l);
    const ra = atomOf(this.nav, s, r);
    if (la.kind !== ra.kind || la.kind === 'leaf' || bothEmpty(l, r)) {
      if (!jsonEqual(l, r)) this.c.modified.insert(path);
      return;
    }
    if (la.kind === 'map' && ra.kind === 'map' && isObject(l) && isObject(r)) {
      for (const k of Object.keys(l)) {
        const [pe, cs] = mapChild(this.nav, ra, k);
        const ig = ignore?.child(pe);
        if (ig?.member) continue;
        path.push(pe);
        if (Object.prototype.hasOwnProperty.call(r, k)) this.both(l[k], r[k], cs, path, ig);
        else this.all(l[k], cs, path, this.c.removed, ig);
        path.pop();
      }
      for (const k of Object.keys(r)) {
        if (Object.prototype.hasOwnProperty.call(l, k)) continue;
        const [pe, cs] = mapChild(this.nav, ra, k);
        const ig = ignore?.child(pe);
        if (ig?.member) continue;
        path.push(pe);
        this.all(r[k], cs, path, this.c.added, ig);
        path.pop();
      }
      return;
    }
    if (la.kind === 'list' && ra.kind === 'list' && Array.isArray(l) && Array.isArray(r)) this.lists(l, r, ra, path);
  }

  private lists(l: unknown[], r: unknown[], atom: Extract<Atom, { kind: 'list' }>, path: PathElement[]): void {
    const lp = itemElements(l, atom);
    const rp = itemElements(r, atom);
    // Items without identities (or duplicated): the list can only be compared whole.
    if (typeof lp === 'string' || typeof rp === 'string') {
      if (!jsonEqual(l, r)) this.c.modified.insert(path);
      return;
    }
    const right = new Map<PathElement, unknown>();
    rp.forEach((pe, i) => right.set(pe, r[i]));
    const left = new Set(lp);
    lp.forEach((pe, i) => {
      path.push(pe);
      if (right.has(pe)) this.both(l[i], right.get(pe), atom.items, path, undefined);
      else this.all(l[i], atom.items, path, this.c.removed);
      path.pop();
    });
    rp.forEach((pe, i) => {
      if (left.has(pe)) return;
      path.push(pe);
      this.all(r[i], atom.items, path, this.c.added);
      path.pop();
    });
  }

  /** A value present on one side only: it and everything in it (but ignored paths) go to `into`. */
  private all(v: unknown, s: Schema | undefined, path: PathElement[], into: FieldSet, ignore?: FieldSet): void {
    into.insert(path);
    const atom = atomOf(this.nav, s, v);
    if (atom.kind === 'map' && isObject(v)) {
      for (const k of Object.keys(v)) {
        const [pe, cs] = mapChild(this.nav, atom, k);
        const ig = ignore?.child(pe);
        if (ig?.member) continue;
        path.push(pe);
        this.all(v[k], cs, path, into, ig);
        path.pop();
      }
    } else if (atom.kind === 'list' && Array.isArray(v)) {
      const pes = itemElements(v, atom);
      if (typeof pes === 'string') return;
      v.forEach((item, i) => {
        path.push(pes[i]);
        this.all(item, atom.items, path, into);
        path.pop();
      });
    }
  }
}

/** Two empty maps or lists compare as leaves, so {} vs [] or {} vs null still register. */
function bothEmpty(l: unknown, r: unknown): boolean {
  const empty = (v: unknown) => (Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0);
  return empty(l) && empty(r);
}
