// Element order of merged lists in a strategic merge patch, following
// Kubernetes' rules (design proposal "preserve order in strategic merge patch"):
// items named in the patch (or in $setElementOrder) keep the patch's order,
// items only on the server keep the server's order, and the two sequences are
// interleaved using the server's order where both items are known to it.
// A consequence Kubernetes users see: without $setElementOrder, an item new to
// the list lands in front of the server items that follow it, e.g. patching
// containers [a, b] with a new container c gives [c, a, b].
import { cloneJson, isScalar } from './json.js';

/** What identifies an item for ordering: its merge key value, or the value itself for scalars. */
export type Identity = (item: unknown) => unknown;

/** A Map key for an identity value (scalars as themselves, anything else by its JSON). */
export function idKey(v: unknown): unknown {
  return isScalar(v) ? v : `\u0000${JSON.stringify(v)}`;
}

function positions(list: unknown[], id: Identity): Map<unknown, number> {
  const m = new Map<unknown, number>();
  list.forEach((item, i) => {
    const k = idKey(id(item));
    if (!m.has(k)) m.set(k, i);
  });
  return m;
}

/** Stable sort of `items` by where they occur in `reference`; unknown items keep their order at the end. */
function sortByReference(items: unknown[], reference: Map<unknown, number>, id: Identity): unknown[] {
  const rank = (x: unknown) => reference.get(idKey(id(x))) ?? Number.MAX_SAFE_INTEGER;
  return items
    .map((item, i) => ({ item, i, r: rank(item) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.item);
}

/**
 * Interleave server-only items into the patch-ordered items. A server item
 * goes first only when the server order knows both candidates and puts it
 * first; otherwise the patch item goes first.
 */
function interleave(serverOnly: unknown[], patched: unknown[], server: Map<unknown, number>, id: Identity): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patched.length) {
    if (j >= patched.length) out.push(serverOnly[i++]);
    else if (i >= serverOnly.length) out.push(patched[j++]);
    else {
      const li = server.get(idKey(id(serverOnly[i])));
      const ri = server.get(idKey(id(patched[j])));
      if (li !== undefined && ri !== undefined && li < ri) out.push(serverOnly[i++]);
      else out.push(patched[j++]);
    }
  }
  return out;
}

/**
 * Order `merged` (the merge result, in any order): items whose identity is in
 * `patchOrder` follow that order, the rest follow `serverOrder`.
 */
export function orderMerged(merged: unknown[], patchOrder: unknown[], serverOrder: unknown[], id: Identity): unknown[] {
  const inPatch = positions(patchOrder, id);
  const patched: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const item of merged) (inPatch.has(idKey(id(item))) ? patched : serverOnly).push(item);
  const server = positions(serverOrder, id);
  return interleave(sortByReference(serverOnly, server, id), sortByReference(patched, inPatch, id), server, id);
}

/** Scalars of both lists, each once, in merged-list order. */
export function mergeScalars(orig: unknown[], p: unknown[]): unknown[] {
  if (orig.length === 0 && p.length === 0) return orig;
  const seen = new Set<unknown>();
  const merged: unknown[] = [];
  for (const v of orig.concat(p)) {
    const k = isScalar(v) ? v : JSON.stringify(v);
    if (seen.has(k)) continue;
    seen.add(k);
    merged.push(cloneJson(v));
  }
  return orderMerged(merged, p, orig, (x) => x);
}

/**
 * The server order that $setElementOrder sorts by, reproduced as Kubernetes
 * ends up with it: its copy of the original list after the merge wrote into
 * it in place, deletions shifting items left and added items filling the
 * freed slots. When a patch both deletes and adds items (as kubectl apply's
 * patches do), this decides where the new items land among server-only ones.
 */
export class ServerOrderView {
  private readonly slots: unknown[];
  private len: number;

  constructor(original: unknown[]) {
    this.slots = original.slice();
    this.len = original.length;
  }

  get order(): unknown[] {
    return this.slots;
  }

  remove(matches: (x: unknown) => boolean): void {
    for (let i = 0; i < this.len; ) {
      if (!matches(this.slots[i])) {
        i++;
        continue;
      }
      this.slots.copyWithin(i, i + 1, this.len);
      this.len--;
    }
  }

  append(item: unknown): void {
    if (this.len < this.slots.length) this.slots[this.len] = item;
    this.len++;
  }
}
