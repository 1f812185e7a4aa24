// The nft scripts that turn the applied ruleset into the desired one,
// touching only what differs, in two transactions:
//
//   apply  — everything that adds: declarations, new chains, new elements,
//            a changed map element (deleted and re-added: nft has no update),
//            and a changed chain. A changed `final` chain (its last rule ends
//            every packet's walk) gets its new rules inserted ahead of the
//            old ones, which are then never reached; other chains are
//            flushed and refilled here.
//   retire — everything that removes: the shadowed rules (the chain flushed
//            and refilled with its new rules, in one transaction, so it is
//            never empty), and the chains, elements and affinity sets nobody
//            wants.
//
// Why two: the kernel frees what a transaction deletes after an RCU grace
// period, and the nft process waits for that when it closes its netlink
// socket (nf_tables flushes its pending destroy work on release): 5-15 ms
// here, most of an `nft -f` run against a big table. Keeping deletions out of
// the first transaction makes a change take effect without that wait (an
// insert alone: ~5 ms against 1,000 Services, a flush and refill ~16 ms); the
// second one runs right after, under the same lock. Old rules are not deleted
// by handle: learning handles needs `nft --echo`, which makes nft load the
// whole table (~40 ms). Each script is one `nft -f -` transaction, applied
// whole or not at all; NAT bindings live in conntrack, so open connections
// are unaffected by either.
import { DECLARATIONS } from './base-ruleset.js';
import { CHAIN_NOEP, CHAIN_SERVICES, ruleHash } from './names.js';
import type { AppliedRuleset, Ruleset } from './ruleset.js';

export interface Plan {
  /** The first transaction's script lines (empty: nothing to add or change). */
  lines: string[];
  /** The second transaction's (empty: nothing to remove). */
  retire: string[];
  /** The applied state once both have run. */
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
  const unlink: string[] = [];
  const refill: string[] = [];
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
    const have = applied.chains.get(name);
    if (have?.rules && have.header === c.header && same(have.rules, c.rules)) {
      next.chains.set(name, have);
      continue;
    }
    const hashes = c.rules.map((r) => ruleHash(name, r));
    if (have && have.header === c.header && same(have.hashes, hashes)) {
      next.chains.set(name, { ...have, rules: c.rules });
      continue;
    }
    next.chains.set(name, { header: c.header, hashes, rules: c.rules });
    const rule = (verb: string, i: number): string => `${verb} rule ${t} ${name} ${c.rules[i]} comment "h:${hashes[i]}"`;
    const all = (verb: string): string[] => c.rules.map((_, i) => rule(verb, i));
    // Chains are all declared before any rule is added: a rule may jump to a chain that comes later.
    if (!have) {
      stats.chainsAdded++;
      declare.push(`add chain ${t} ${name}${c.header ? ` { ${c.header} }` : ''}`);
      fill.push(...all('add'));
    } else if (have.header !== c.header) {
      // A base chain's hook cannot be changed in place: replaced within this transaction.
      stats.chainsChanged++;
      declare.push(`flush chain ${t} ${name}`, `delete chain ${t} ${name}`, `add chain ${t} ${name}${c.header ? ` { ${c.header} }` : ''}`);
      fill.push(...all('add'));
    } else if (c.final && c.rules.length && have.hashes.length) {
      // Inserted last-first at the head, so they run in order and the last one ends the walk before any old rule.
      stats.chainsChanged++;
      fill.push(...all('insert').reverse());
      refill.push(`flush chain ${t} ${name}`, ...all('add'));
    } else {
      stats.chainsChanged++;
      fill.push(`flush chain ${t} ${name}`, ...all('add'));
    }
  }

  for (const [mapName, wantElems] of want.maps) {
    const have = applied.maps.get(mapName) ?? new Map<string, string>();
    for (const [k, v] of have) {
      const w = wantElems.get(k);
      if (w === v) continue;
      stats.elementsDeleted++;
      // A changed verdict must go in the first transaction (deleted just before it is re-added); a key nobody wants waits for the second.
      (w === undefined ? unlink : elements).push(`delete element ${t} ${mapName} { ${k} }`);
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
    for (const k of have) if (!wantElems.has(k)) (stats.elementsDeleted++, unlink.push(`delete element ${t} ${setName} { ${k} }`));
    for (const k of wantElems) if (!have.has(k)) (stats.elementsAdded++, elements.push(`add element ${t} ${setName} { ${k} }`));
    next.sets.set(setName, new Set(wantElems));
  }

  // Chains nobody wants: emptied first (they may jump to each other), then deleted; then the affinity sets they used.
  const stale = [...applied.chains.keys()].filter((n) => !want.chains.has(n));
  for (const n of stale) teardown.push(`flush chain ${t} ${n}`);
  for (const n of stale) (stats.chainsDeleted++, teardown.push(`delete chain ${t} ${n}`));
  for (const [name, timeout] of applied.affinity) if (want.affinity.get(name) !== timeout) teardown.push(`delete set ${t} ${name}`);

  const body = [...head, ...declare, ...fill, ...elements];
  // Retire order: what leads to a stale chain (map elements, shadowed rules) goes before the chain.
  const retire = [...unlink, ...refill, ...teardown];
  return { lines: body.length ? [`add table ${t}`, ...body] : [], retire, next, stats };
}

function same(a: string[], b: string[]): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}
