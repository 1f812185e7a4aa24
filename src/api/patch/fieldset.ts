// A set of field paths, shaped like Kubernetes' FieldsV1 (managedFields):
// a tree whose edges are path elements
//   f:<name>             a field of a map or struct
//   k:{"key":value,...}  an item of a list-type map, by its list-map-keys
//   v:<json>             an item of a list-type set, by its value
//   i:<index>            an item of a list by position
// and where `member` says that the path to this node is itself in the set
// (FieldsV1 writes that as "." when the node also has children).
import { isObject, type JsonObject } from './json.js';

export type PathElement = string;

export class FieldSet {
  member = false;
  // Undefined until the first child (an empty Map reads the same). Read it
  // through `map`, which first decodes `raw` if there is one.
  private kids: Map<PathElement, FieldSet> | undefined;
  // FieldsV1 JSON whose children are not decoded yet (lazyFromFieldsV1); it
  // has at least one key besides ".", and `member` is already set from it.
  private raw: JsonObject | undefined;

  private get map(): Map<PathElement, FieldSet> | undefined {
    if (this.raw) this.decodeRaw();
    return this.kids;
  }

  get children(): ReadonlyMap<PathElement, FieldSet> {
    return this.map ?? EMPTY_CHILDREN;
  }

  child(pe: PathElement): FieldSet | undefined {
    return this.map?.get(pe);
  }

  /** The child node, created when missing. */
  ensure(pe: PathElement): FieldSet {
    const kids = this.map ?? (this.kids = new Map());
    let c = kids.get(pe);
    if (!c) kids.set(pe, (c = new FieldSet()));
    return c;
  }

  /** Attach `node` as a child unless it is empty. */
  attach(pe: PathElement, node: FieldSet): void {
    if (node.isEmpty()) return;
    (this.map ?? (this.kids = new Map())).set(pe, node);
  }

  /** Add a path (relative to this node) as a member. */
  insert(path: readonly PathElement[]): void {
    let n: FieldSet = this;
    for (const pe of path) n = n.ensure(pe);
    n.member = true;
  }

  has(path: readonly PathElement[]): boolean {
    let n: FieldSet | undefined = this;
    for (const pe of path) if (!(n = n.child(pe))) return false;
    return n.member;
  }

  isEmpty(): boolean {
    return !this.member && !this.raw && (!this.kids || this.kids.size === 0);
  }

  union(other: FieldSet): FieldSet {
    const out = new FieldSet();
    out.member = this.member || other.member;
    for (const [pe, c] of this.children) {
      const o = other.child(pe);
      out.attach(pe, o ? c.union(o) : c.clone());
    }
    for (const [pe, o] of other.children) if (!this.child(pe)) out.attach(pe, o.clone());
    return out;
  }

  /** Members of this set that are not members of `other` (paths, not subtrees). */
  difference(other: FieldSet | undefined): FieldSet {
    if (!other) return this.clone();
    const out = new FieldSet();
    out.member = this.member && !other.member;
    for (const [pe, c] of this.children) out.attach(pe, c.difference(other.child(pe)));
    return out;
  }

  /** This set without every path at or below a member of `other`. */
  withoutSubtrees(other: FieldSet | undefined): FieldSet {
    if (!other) return this.clone();
    const out = new FieldSet();
    out.member = this.member;
    for (const [pe, c] of this.children) {
      const o = other.child(pe);
      if (o?.member) continue;
      out.attach(pe, o ? c.withoutSubtrees(o) : c.clone());
    }
    return out;
  }

  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    out.member = this.member && other.member;
    for (const [pe, c] of this.children) {
      const o = other.child(pe);
      if (o) out.attach(pe, c.intersection(o));
    }
    return out;
  }

  clone(): FieldSet {
    const out = new FieldSet();
    out.member = this.member;
    for (const [pe, c] of this.children) out.attach(pe, c.clone());
    return out;
  }

  equals(other: FieldSet): boolean {
    if (this === other) return true;
    if (this.member !== other.member || this.children.size !== other.children.size) return false;
    for (const [pe, c] of this.children) {
      const o = other.child(pe);
      if (!o || !c.equals(o)) return false;
    }
    return true;
  }

  /**
   * Every member path, in Kubernetes' order: at each level the members among
   * the children first, then the deeper paths, each group sorted.
   */
  paths(): PathElement[][] {
    const out: PathElement[][] = [];
    const walk = (n: FieldSet, prefix: PathElement[]) => {
      const kids = sortedChildren(n);
      for (const [pe, c] of kids) if (c.member) out.push([...prefix, pe]);
      for (const [pe, c] of kids) if (c.children.size) walk(c, [...prefix, pe]);
    };
    walk(this, []);
    return out;
  }

  /** The FieldsV1 JSON object Kubernetes stores in managedFields[].fieldsV1. */
  toFieldsV1(): Record<string, unknown> {
    if (this.raw) return encodeRaw(this.raw, this.member);
    const out: Record<string, unknown> = {};
    const kids = this.kids;
    if (!kids || kids.size === 0) return out;
    if (this.member) out['.'] = {};
    // Children are mostly stored in order already (decoded from sorted
    // FieldsV1, or inserted sorted by the walkers): checking is one pass.
    // The sort would leave such a sequence as it is: it is one ascending
    // run, which the built-in sort returns unchanged (so even elements the
    // comparator calls equal, like "i:1" and "i:01", keep their order).
    if (inOrder(kids)) for (const [pe, c] of kids) out[pe] = c.toFieldsV1();
    else for (const pe of sortedMapKeys(kids)) out[pe] = (kids.get(pe) as FieldSet).toFieldsV1();
    return out;
  }

  /** Parse FieldsV1; anything malformed below a key is taken as that key being a member. */
  static fromFieldsV1(v: unknown): FieldSet {
    const out = new FieldSet();
    if (!isObject(v)) return out;
    for (const k of Object.keys(v)) {
      if (k === '.') {
        out.member = true;
        continue;
      }
      const child = FieldSet.fromFieldsV1(v[k]);
      if (!child.kids) child.member = true;
      // Never empty (a member or with children): attach() would keep it.
      (out.kids ??= new Map()).set(k, child);
    }
    return out;
  }

  /**
   * The same set as fromFieldsV1(v), decoded only as far as it is used: a
   * node keeps its JSON until its children are asked for, and encoding an
   * untouched node copies its JSON the way decoding and encoding would.
   * Ownership bookkeeping reads a few paths of each stored set and writes
   * the rest back unchanged. `v` must not change while the set is in use.
   */
  static lazyFromFieldsV1(v: unknown): FieldSet {
    const out = new FieldSet();
    if (!isObject(v)) return out;
    out.member = hasMemberMark(v);
    if (hasChildKeys(v)) out.raw = v;
    return out;
  }

  private decodeRaw(): void {
    const v = this.raw as JsonObject;
    this.raw = undefined;
    const kids = new Map<PathElement, FieldSet>();
    for (const k of Object.keys(v)) {
      if (k === '.') continue;
      const child = FieldSet.lazyFromFieldsV1(v[k]);
      // As in fromFieldsV1: a key without children of its own is a member.
      if (!child.raw) child.member = true;
      kids.set(k, child);
    }
    this.kids = kids;
  }

  // ---- structure-sharing algebra --------------------------------------------
  //
  // The same sets as union(), difference() and withoutSubtrees(), but the
  // result shares every untouched subtree with the operands (and may be an
  // operand itself), so that taking a few paths out of a big set costs the
  // few paths, not a copy of the set. Children keep the order the copying
  // versions give them. Results must be treated as read-only, and so must
  // the operands from then on: ownership bookkeeping builds its sets, combines
  // them and encodes them, never modifying one in place afterwards.

  /** Like a.union(b), sharing structure (read-only result). */
  static unionShared(a: FieldSet, b: FieldSet): FieldSet {
    if (b.isEmpty()) return a;
    if (a.isEmpty()) return b;
    const bk = b.map;
    if (!bk || bk.size === 0) return a.member || !b.member ? a : a.shallow(true);
    const out = new FieldSet();
    out.member = a.member || b.member;
    const kids = (out.kids = new Map(a.map));
    for (const [pe, bc] of bk) {
      const ac = kids.get(pe);
      if (ac) kids.set(pe, FieldSet.unionShared(ac, bc));
      else if (!bc.isEmpty()) kids.set(pe, bc);
    }
    return out;
  }

  /** Like a.difference(b), sharing structure (read-only result). */
  static differenceShared(a: FieldSet, b: FieldSet | undefined): FieldSet {
    if (!b) return a;
    const member = a.member && !b.member;
    let out: FieldSet | undefined;
    const ak = a.map;
    const bk = b.map;
    if (ak && bk) {
      // Walk the smaller map; only children present in both can change.
      const small = bk.size <= ak.size ? bk : ak;
      for (const pe of small.keys()) {
        const ac = ak.get(pe);
        const bc = bk.get(pe);
        if (!ac || !bc) continue;
        const nc = FieldSet.differenceShared(ac, bc);
        if (nc === ac) continue;
        out ??= a.shallow(member);
        out.replaceChild(pe, nc);
      }
    }
    if (!out && member !== a.member) out = a.shallow(member);
    return out ?? a;
  }

  /** Like a.withoutSubtrees(b), sharing structure (read-only result). */
  static withoutSubtreesShared(a: FieldSet, b: FieldSet | undefined): FieldSet {
    const ak = a.map;
    const bk = b?.map;
    if (!ak || !bk) return a;
    let out: FieldSet | undefined;
    for (const [pe, bc] of bk) {
      const ac = ak.get(pe);
      if (!ac) continue;
      const nc = bc.member ? undefined : FieldSet.withoutSubtreesShared(ac, bc);
      if (nc === ac) continue;
      out ??= a.shallow(a.member);
      out.replaceChild(pe, nc);
    }
    return out ?? a;
  }

  /** A new node with these children (the same child objects). */
  private shallow(member: boolean): FieldSet {
    const out = new FieldSet();
    out.member = member;
    const kids = this.map;
    if (kids) out.kids = new Map(kids);
    return out;
  }

  /** Set a child in place (keeping its position), or remove it when empty or undefined. */
  private replaceChild(pe: PathElement, node: FieldSet | undefined): void {
    if (!this.kids) return;
    if (node && !node.isEmpty()) this.kids.set(pe, node);
    else {
      this.kids.delete(pe);
      if (this.kids.size === 0) this.kids = undefined;
    }
  }
}

const EMPTY_CHILDREN: ReadonlyMap<PathElement, FieldSet> = new Map();

/** f: before k: before v: before i:, as Kubernetes orders path elements. */
function rank(pe: PathElement): number {
  switch (pe.charCodeAt(0)) {
    case 102: // f
      return 0;
    case 107: // k
      return 1;
    case 118: // v
      return 2;
    case 105: // i
      return 3;
    default:
      return 4;
  }
}

function comparePathElements(a: PathElement, b: PathElement): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 3) return Number(a.slice(2)) - Number(b.slice(2));
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * FieldsV1 `v` as decoding then encoding it writes it (what
 * fromFieldsV1 then toFieldsV1 give for a child node), in one pass: "." first
 * when it is a member with children, children in Kubernetes' order, and {}
 * for a key without children. `member` overrides what "." says (for a node
 * whose flag was set before encoding).
 */
function encodeRaw(v: JsonObject, member?: boolean): Record<string, unknown> {
  // for-in lists own keys in Object.keys order (then inherited ones, skipped).
  const keys: string[] = [];
  let mark = false;
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    if (k === '.') mark = true;
    else keys.push(k);
  }
  const out: Record<string, unknown> = {};
  if (keys.length === 0) return out;
  if (member ?? mark) out['.'] = {};
  if (!keysInOrder(keys)) keys.sort(comparePathElements); // stable, as sortedChildren's sort
  for (const k of keys) {
    const c = v[k];
    out[k] = isObject(c) ? encodeRaw(c) : {};
  }
  return out;
}

/** Whether FieldsV1 object `v` lists "." (Object.keys would: own and enumerable). */
function hasMemberMark(v: JsonObject): boolean {
  return Object.prototype.propertyIsEnumerable.call(v, '.');
}

/** Whether FieldsV1 object `v` has a key besides "." (own, enumerable: what Object.keys lists). */
function hasChildKeys(v: JsonObject): boolean {
  for (const k in v) if (k !== '.' && Object.prototype.hasOwnProperty.call(v, k)) return true;
  return false;
}

function keysInOrder(keys: readonly PathElement[]): boolean {
  for (let i = 1; i < keys.length; i++) if (outOfOrder(keys[i - 1], keys[i])) return false;
  return true;
}

/** comparePathElements(a, b) > 0, without ranking the common case (same kind, not i:). */
function outOfOrder(a: PathElement, b: PathElement): boolean {
  const ca = a.charCodeAt(0);
  if (ca === b.charCodeAt(0) && (ca === 102 /* f */ || ca === 107 /* k */ || ca === 118 /* v */)) return a > b;
  return comparePathElements(a, b) > 0;
}

/** Whether the keys are already in Kubernetes' order (ties allowed: see toFieldsV1). */
function inOrder(kids: ReadonlyMap<PathElement, FieldSet>): boolean {
  let prev: PathElement | undefined;
  for (const pe of kids.keys()) {
    if (prev !== undefined && outOfOrder(prev, pe)) return false;
    prev = pe;
  }
  return true;
}

/** The keys as sortedChildren orders them: the same sort, comparator and starting order. */
function sortedMapKeys(kids: ReadonlyMap<PathElement, FieldSet>): PathElement[] {
  const keys = [...kids.keys()];
  return keys.length > 1 ? keys.sort(comparePathElements) : keys;
}

function sortedChildren(n: FieldSet): Array<[PathElement, FieldSet]> {
  const kids = [...n.children];
  return kids.length > 1 ? kids.sort((x, y) => comparePathElements(x[0], y[0])) : kids;
}

/**
 * Own keys in Kubernetes' order for f: elements: all f: elements of a map
 * share the prefix, so plain string order of the keys (by UTF-16 code units,
 * like `<` and the default sort) is their order.
 */
export function sortedFieldKeys(o: JsonObject): string[] {
  const keys = Object.keys(o);
  return keys.length > 1 ? sortStrings(keys) : keys;
}

/**
 * Indexes of list items in the order of their path elements. The elements
 * of one list are all k: or all v:, so plain string order is Kubernetes'
 * order; they are distinct, so the order is total.
 */
export function sortedIndexes(pes: readonly PathElement[]): number[] {
  const n = pes.length;
  const idx: number[] = [];
  for (let i = 0; i < n; i++) idx.push(i);
  if (n > 32) return idx.sort((a, b) => (pes[a] < pes[b] ? -1 : 1));
  for (let i = 1; i < n; i++) {
    const x = idx[i];
    let j = i - 1;
    for (; j >= 0 && pes[idx[j]] > pes[x]; j--) idx[j + 1] = idx[j];
    idx[j + 1] = x;
  }
  return idx;
}

/**
 * Distinct strings sorted in place by UTF-16 code units. Objects have few
 * keys, and for those an insertion sort with `<` is about three times
 * faster than the built-in sort (which converts and compares generically).
 */
function sortStrings(a: string[]): string[] {
  const n = a.length;
  if (n > 32) return a.sort();
  for (let i = 1; i < n; i++) {
    const x = a[i];
    let j = i - 1;
    for (; j >= 0 && a[j] > x; j--) a[j + 1] = a[j];
    a[j + 1] = x;
  }
  return a;
}

// ---- path elements ----------------------------------------------------------

export const fieldElement = (name: string): PathElement => `f:${name}`;
export const valueElement = (v: unknown): PathElement => `v:${JSON.stringify(v)}`;
export const indexElement = (i: number): PathElement => `i:${i}`;

/** `k:` element from key names and values; names are sorted as Kubernetes does. */
export function keyElement(fields: Array<[string, unknown]>): PathElement {
  if (fields.length === 1) return `k:{${JSON.stringify(fields[0][0])}:${JSON.stringify(fields[0][1])}}`;
  const sorted = [...fields].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `k:{${sorted.map(([n, v]) => `${JSON.stringify(n)}:${JSON.stringify(v)}`).join(',')}}`;
}

/** A path as Kubernetes prints it in conflicts: `.spec.containers[name="app"].image`. */
export function pathString(path: readonly PathElement[]): string {
  return path.map(elementString).join('');
}

function elementString(pe: PathElement): string {
  const body = pe.slice(2);
  switch (pe[0]) {
    case 'f':
      return `.${body}`;
    case 'v':
      return `[=${body}]`;
    case 'i':
      return `[${body}]`;
    case 'k': {
      try {
        const parsed: unknown = JSON.parse(body);
        if (isObject(parsed))
          return `[${Object.keys(parsed)
            .map((k) => `${k}=${JSON.stringify(parsed[k])}`)
            .join(',')}]`;
      } catch {
        // fall through to the raw form
      }
      return `[${body}]`;
    }
    default:
      return `.${pe}`;
  }
}
