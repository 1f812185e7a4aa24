// The nft script that turns the applied ruleset into the desired one, touching
// only what differs: a changed chain is flushed and refilled (its NAT
// bindings live in conntrack, so open connections are unaffected), map and
// set elements are deleted and added one by one. Everything goes into one
// `nft -f -` transaction: nft applies it whole or not at all.
import { DECLARATIONS } from './base-ruleset.js';
import { CHAIN_NOEP, CHAIN_SERVICES, ruleHash } from './names.js';
import type { AppliedRuleset, Ruleset } from './ruleset.js';

export interface Plan {
  /** Script lines (empty: nothing to do). */
  lines: string[];
  /** The applied state once the script has run. */
  next: AppliedRuleset;
  /** Counts for logs and tests. */
  stats: { chainsAdded: number; chainsChanged: number; chainsDeleted: number; elementsAdded: number; elementsDeleted: number };
}

export function planRuleset(table: string, applied: AppliedRuleset, want: Ruleset): Plan {
  const t = `inet ${table}`;
  const stats = { chainsAdded: 0, chainsChanged: 0, chainsDeleted: 0, elementsAdded: 0, elementsDeleted: 0 };
  const head: string[] = [];
  const declare: string[] = [];
  const fill: string[] = [];
  const elements: string[] = [];
  const teardown: string[] = [];
  const next: AppliedRuleset = { chains: new Map(), maps: new Map(), sets: new Map(), affinity: new Map(want.affinity), declared: new Map() };

  for (const [name, d] of DECLARATIONS) {
    const decl = `${d.kind} ${name} { ${d.body} }`;
    next.declared.set(name, decl);
    const have = applied.declared.get(name);
    if (have === decl) continue;
    // A map of another type (an older Lodge) cannot be altered: replaced, once the chains that use it are emptied (refilled below).
    if (have !== undefined) {
      for (const user of [CHAIN_SERVICES, CHAIN_NOEP]) {
        if (!applied.chains.has(user)) continue;
        head.push(`flush chain ${t} ${user}`);
        applied.chains.set(user, { ...applied.chains.get(user)!, hashes: [] });
      }
      head.push(`delete ${d.kind} ${t} ${name}`);
    }
    head.push(`add ${d.kind} ${t} ${name} { ${d.body} }`);
    applied.maps.delete(name);
    applied.sets.delete(name);
  }
  for (const [name, timeout] of want.affinity) {
    if (applied.affinity.get(name) === timeout) continue;
    head.push(`add set ${t} ${name} { type ipv4_addr; flags dynamic,timeout; timeout ${timeout}s; }`);
  }

  for (const [name, c] of want.chains) {
    const hashes = c.rules.map((r) => ruleHash(name, r));
    next.chains.set(name, { header: c.header, hashes });
    const have = applied.chains.get(name);
    if (have && have.header === c.header && same(have.hashes, hashes)) continue;
    if (!have) {
      stats.chainsAdded++;
      declare.push(`add chain ${t} ${name}${c.header ? ` { ${c.header} }` : ''}`);
    } else if (have.header !== c.header) {
      // A base chain's hook cannot be changed in place: replaced within this transaction.
      stats.chainsChanged++;
      declare.push(`flush chain ${t} ${name}`, `delete chain ${t} ${name}`, `add chain ${t} ${name}${c.header ? ` { ${c.header} }` : ''}`);
    } else {
      stats.chainsChanged++;
      fill.push(`flush chain ${t} ${name}`);
    }
    c.rules.forEach((r, i) => fill.push(`add rule ${t} ${name} ${r} comment "h:${hashes[i]}"`));
  }

  for (const [mapName, wantElems] of want.maps) {
    const have = applied.maps.get(mapName) ?? new Map<string, string>();
    for (const [k, v] of have) {
      if (wantElems.get(k) === v) continue;
      stats.elementsDeleted++;
      elements.push(`delete element ${t} ${mapName} { ${k} }`);
    }
    for (const [k, v] of wantElems) {
      if (have.get(k) === v) continue;
      stats.elementsAdded++;
      elements.push(`add element ${t} ${mapName} { ${k} : ${v} }`);
    }
    next.maps.set(mapName, new Map(wantElems));
  }
  for (const [setName, wantElems] of want.sets) {
    const have = applied.sets.get(setName) ?? new Set<string>();
    for (const k of have) if (!wantElems.has(k)) (stats.elementsDeleted++, elements.push(`delete element ${t} ${setName} { ${k} }`));
    for (const k of wantElems) if (!have.has(k)) (stats.elementsAdded++, elements.push(`add element ${t} ${setName} { ${k} }`));
    next.sets.set(setName, new Set(wantElems));
  }

  // Chains nobody wants: emptied first (they may jump to each other), then deleted; then the affinity sets they used.
  const stale = [...applied.chains.keys()].filter((n) => !want.chains.has(n));
  for (const n of stale) teardown.push(`flush chain ${t} ${n}`);
  for (const n of stale) (stats.chainsDeleted++, teardown.push(`delete chain ${t} ${n}`));
  for (const [name, timeout] of applied.affinity) if (want.affinity.get(name) !== timeout) teardown.push(`delete set ${t} ${name}`);

  const body = [...head, ...declare, ...fill, ...elements, ...teardown];
  return { lines: body.length ? [`add table ${t}`, ...body] : [], next, stats };
}

function same(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
