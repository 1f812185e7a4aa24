// Verbatim copy of src/api/patch at commit 8041a40 (the reference implementation; see ../reference-track.ts).
// Merging an applied configuration into the live object, and removing the
// fields an applier gave up. Both work in place on a copy the caller owns.
import type { Schema } from '../../../src/apis/schema.js';
import type { FieldSet, PathElement } from './fieldset.js';
import { cloneJson, isObject, setOwn } from './json.js';
import type { SchemaNav } from './schema-nav.js';
import { atomOf, itemElements, mapChild, type Atom } from './ssa-atoms.js';

/**
 * `live` merged with `config` by the schema: maps merge key by key, set and
 * map lists merge item by item, leaves (scalars, atomic values) take the
 * config's value. A null in the config removes the field. `live` is modified
 * and returned when it is a map; config values are copied.
 */
export function mergeApplied(nav: SchemaNav, live: unknown, config: unknown, s: Schema | undefined): unknown {
  if (live === undefined) return withoutNulls(cloneJson(config));
  const la = atomOf(nav, s, live);
  const ra = atomOf(nav, s, config);
  if (la.kind === 'map' && ra.kind === 'map' && isObject(live) && isObject(config)) {
    for (const k of Object.keys(config)) {
      const cv = config[k];
      if (cv === null) {
        delete live[k];
        continue;
      }
      const [, cs] = mapChild(nav, ra, k);
      setOwn(live, k, mergeApplied(nav, Object.prototype.hasOwnProperty.call(live, k) ? live[k] : undefined, cv, cs));
    }
    return live;
  }
  if (la.kind === 'list' && ra.kind === 'list' && Array.isArray(live) && Array.isArray(config)) {
    const merged = mergeLists(nav, live, config, ra);
    if (merged) return merged;
  }
  return withoutNulls(cloneJson(config));
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
    for (const k of Object.keys(obj)) {
      const [pe, cs] = mapChild(nav, atom, k);
      const r = remove.child(pe);
      if (!r) continue;
      if (r.member) delete obj[k];
      else removeFields(nav, obj[k], r, cs);
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

/** Nulls in maps mean "no value" once stored; lists keep theirs. */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) {
    for (const x of v) withoutNulls(x);
  } else if (isObject(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else withoutNulls(v[k]);
    }
  }
  return v;
}
