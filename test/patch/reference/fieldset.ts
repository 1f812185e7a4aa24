// Verbatim copy of src/api/patch at commit 8041a40 (the reference implementation; see ../reference-track.ts).
// A set of field paths, shaped like Kubernetes' FieldsV1 (managedFields):
// a tree whose edges are path elements
//   f:<name>             a field of a map or struct
//   k:{"key":value,...}  an item of a list-type map, by its list-map-keys
//   v:<json>             an item of a list-type set, by its value
//   i:<index>            an item of a list by position
// and where `member` says that the path to this node is itself in the set
// (FieldsV1 writes that as "." when the node also has children).
import { isObject } from './json.js';

export type PathElement = string;

export class FieldSet {
  member = false;
  private kids: Map<PathElement, FieldSet> | undefined;

  get children(): ReadonlyMap<PathElement, FieldSet> {
    return this.kids ?? EMPTY_CHILDREN;
  }

  child(pe: PathElement): FieldSet | undefined {
    return this.kids?.get(pe);
  }

  /** The child node, created when missing. */
  ensure(pe: PathElement): FieldSet {
    this.kids ??= new Map();
    let c = this.kids.get(pe);
    if (!c) this.kids.set(pe, (c = new FieldSet()));
    return c;
  }

  /** Attach `node` as a child unless it is empty. */
  attach(pe: PathElement, node: FieldSet): void {
    if (node.isEmpty()) return;
    (this.kids ??= new Map()).set(pe, node);
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
    return !this.member && (!this.kids || this.kids.size === 0);
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
    const out: Record<string, unknown> = {};
    if (this.member && this.children.size) out['.'] = {};
    for (const [pe, c] of sortedChildren(this)) out[pe] = c.toFieldsV1();
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
      if (child.children.size === 0) child.member = true;
      out.attach(k, child);
    }
    return out;
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

function sortedChildren(n: FieldSet): Array<[PathElement, FieldSet]> {
  const kids = [...n.children];
  return kids.length > 1 ? kids.sort((x, y) => comparePathElements(x[0], y[0])) : kids;
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
