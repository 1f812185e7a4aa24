// The set of fields an applied configuration specifies (what its manager
// will own), and the expansion server-side apply prunes with.
import type { Schema } from '../../apis/schema.js';
import { PatchError } from './errors.js';
import { FieldSet, fieldElement, pathString, sortedIndexes, type PathElement } from './fieldset.js';
import { isObject } from './json.js';
import { declaredFields, type SchemaNav } from './schema-nav.js';
import { atomOf, itemElements } from './ssa-atoms.js';

/**
 * Fields of `config`, as Kubernetes computes them: leaves, list items and
 * map entries are members; a declared struct field is a member only when
 * its value is null or {} (otherwise its children say what is owned).
 * Throws a 422 PatchError when a list item has no identity.
 */
export function configFieldSet(nav: SchemaNav, config: unknown, s: Schema | undefined): FieldSet {
  const root = new FieldSet();
  fill(nav, config, s, root, []);
  return root;
}

function fill(nav: SchemaNav, v: unknown, s: Schema | undefined, node: FieldSet, path: PathElement[]): void {
  const atom = atomOf(nav, s, v);
  if (atom.kind === 'map' && isObject(v)) {
    const ms = atom.schema;
    // Children are made in the configuration's order (so that the first
    // error found is the one Kubernetes reports) and attached in Kubernetes'
    // order (so that encoding the set needs no sorting).
    const pes: PathElement[] = [];
    const kids: FieldSet[] = [];
    const props = ms && declaredFields(ms);
    for (const k of Object.keys(v)) {
      const d = props && props.get(k);
      const pe = d ? d.pe : fieldElement(k);
      const cs = d ? nav.declared(d) : nav.additional(ms);
      const named = !!d;
      const cv = v[k];
      const child = new FieldSet();
      path.push(pe);
      fill(nav, cv, cs, child, path);
      path.pop();
      const childAtom = atomOf(nav, cs, cv);
      if (cv === null || childAtom.kind === 'leaf' || !named || (isObject(cv) && Object.keys(cv).length === 0)) child.member = true;
      pes.push(pe);
      kids.push(child);
    }
    for (const i of sortedIndexes(pes)) node.attach(pes[i], kids[i]);
  } else if (atom.kind === 'list' && Array.isArray(v)) {
    const pes = itemElements(v, atom);
    if (typeof pes === 'string') throw new PatchError(`${pathString(path).slice(1) || '<root>'}: ${pes}`, 422);
    const kids = v.map((item, i) => {
      const child = new FieldSet();
      path.push(pes[i]);
      fill(nav, item, atom.items, child, path);
      path.pop();
      child.member = true;
      return child;
    });
    for (const i of sortedIndexes(pes)) node.attach(pes[i], kids[i]);
  }
}

/**
 * The set plus every declared (named) field on the way to its members, as
 * members. Pruning compares these so that a struct is removed only when
 * nobody owns anything inside it, while list items and map entries count
 * as owned only when owned themselves.
 */
export function withNamedFields(nav: SchemaNav, set: FieldSet, s: Schema | undefined): FieldSet {
  const out = new FieldSet();
  out.member = set.member;
  for (const [pe, c] of set.children) {
    let cs: Schema | undefined;
    let named = false;
    if (pe.startsWith('f:')) {
      const name = pe.slice(2);
      cs = nav.field(s, name);
      named = nav.isNamedField(s, name);
    } else {
      cs = nav.items(s);
    }
    const expanded = withNamedFields(nav, c, cs);
    if (named) expanded.member = true;
    out.attach(pe, expanded);
  }
  return out;
}

/** A set made of these field paths (names only), e.g. [['metadata', 'name']]. */
export function fieldPaths(paths: readonly (readonly string[])[]): FieldSet {
  const set = new FieldSet();
  for (const p of paths) set.insert(p.map(fieldElement));
  return set;
}
