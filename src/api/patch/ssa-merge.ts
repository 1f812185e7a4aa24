// Merging an applied configuration into the live object, and removing the
// fields an applier gave up. Both work in place on a copy the caller owns.
import type { Schema } from '../../apis/schema.js';
import type { FieldSet, PathElement } from './fieldset.js';
import { isObject, setOwn, type JsonObject } from './json.js';
import { declaredFields, type SchemaNav } from './schema-nav.js';
import { atomOf, itemElements, type Atom } from './ssa-atoms.js';

/**
 * `live` merged with `config` by the schema: maps merge key by key, set and
 * map lists merge item by item, leaves (scalars, atomic values) take the
 * config's value. A null in the config removes the field. `live` is modified
 * and returned when it is a map; config values are copied.
 */
export function mergeApplied(nav: SchemaNav, live: unknown, config: unknown, s: Schema | undefined): unknown {
  if (live === undefined) return cloneWithoutNulls(config);
  const la = atomOf(nav, s, live);
  const ra = atomOf(nav, s, config);
  if (la.kind === 'map' && ra.kind === 'map' && isObject(live) && isObject(config)) {
    const props = ra.schema && declaredFields(ra.schema);
    for (const k of Object.keys(config)) {
      const cv = config[k];
      if (cv === null) {
        delete live[k];
        continue;
      }
      const d = props && props.get(k);
      const cs = d ? nav.declared(d) : nav.additional(ra.schema);
      setOwn(live, k, mergeApplied(nav, Object.prototype.hasOwnProperty.call(live, k) ? live[k] : undefined, cv, cs));
    }
    return live;
  }
  if (la.kind === 'list' && ra.kind === 'list' && Array.isArray(live) && Array.isArray(config)) {
    const merged = mergeLists(nav, live, config, ra);
    if (merged) return merged;
  }
  return cloneWithoutNulls(config);
}

/**
 * Items of both lists, each once, merged where they share an identity. The
 * applied order wins for the items it names; live-only items stay next to
 * the items they followed. Returns undefined when the live list has no
 * identities to merge by (then the config replaces it).
 */
function mergeLists(nav: SchemaNav, live: unknown[], config: unknown[], atom: Extract<Atom, { kind: 'list' }>): unknown[] | undefined {
  const lp = itemElements(live, atom);
  const rp = itemElements(config, atom); // validated when the field set was computed
  if (typeof lp === 'string' || typeof rp === 'string') return undefined;
  const liveAt = new Map<PathElement, number>();
  lp.forEach((pe, i) => liveAt.set(pe, i));
  const inConfig = new Set(rp);
  // Shared items in the config's order; the next one due decides whether a
  // live item that is also in the config waits for its turn.
  const shared = rp.filter((pe) => liveAt.has(pe));
  let due = 0;
  const out: unknown[] = [];
  const emitted = new Set<PathElement>();
  const emitConfig = (ri: number) => {
    const pe = rp[ri];
    emitted.add(pe);
    const li = liveAt.get(pe);
    out.push(mergeApplied(nav, li === undefined ? undefined : live[li], config[ri], atom.items));
    if (shared[due] === pe) due++;
  };
  let li = 0;
  let ri = 0;
  while (li < lp.length || ri < rp.length) {
    if (li < lp.length && ri < rp.length) {
      if (lp[li] === rp[ri]) {
        emitConfig(ri++);
        li++;
        continue;
      }
      // Shared with the config but not due yet: it is emitted when the config reaches it.
      if (inConfig.has(lp[li]) && due < shared.length && shared[due] !== lp[li]) {
        li++;
        continue;
      }
    }
    if (li < lp.length) {
      if (!inConfig.has(lp[li])) {
        out.push(live[li++]);
        continue;
      }
      if (emitted.has(lp[li])) li++;
    }
    if (ri < rp.length) emitConfig(ri++);
  }
  return out;
}

/** Remove from `obj` every path that is a member of `remove` (with its subtree). */
export function removeFields(nav: SchemaNav, obj: unknown, remove: FieldSet, s: Schema | undefined): void {
  const atom = atomOf(nav, s, obj);
  if (atom.kind === 'map' && isObject(obj)) {
    const props = atom.schema && declaredFields(atom.schema);
    for (const k of Object.keys(obj)) {
      const d = props && props.get(k);
      const r = remove.child(d ? d.pe : `f:${k}`);
      if (!r) continue;
      if (r.member) delete obj[k];
      else removeFields(nav, obj[k], r, d ? nav.declared(d) : nav.additional(atom.schema));
    }
  } else if (atom.kind === 'list' && Array.isArray(obj)) {
    const pes = itemElements(obj, atom);
    if (typeof pes === 'string') return;
    const keep: unknown[] = [];
    obj.forEach((item, i) => {
      const r = remove.child(pes[i]);
      if (r?.member) return;
      if (r) removeFields(nav, item, r, atom.items);
      keep.push(item);
    });
    obj.splice(0, obj.length, ...keep);
  }
}

/**
 * A copy of `v` without the nulls of its maps: nulls in maps mean "no
 * value" once stored; lists keep theirs. (Copying, then deleting the nulls
 * from the copy, in one pass.)
 */
function cloneWithoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(cloneWithoutNulls);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v)) {
      const x = v[k];
      if (x !== null) setOwn(out, k, cloneWithoutNulls(x));
    }
    return out;
  }
  return v;
}
