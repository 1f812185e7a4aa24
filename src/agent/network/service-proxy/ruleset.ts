// The proxy's part of Lodge's nft table as data: chains with their rules,
// verdict-map elements, set elements and affinity sets. The desired state is
// built in this shape (desired-state.ts), the applied one is read back from
// the kernel in it (read-table.ts), and the plan (plan.ts) is the difference.

export interface ChainSpec {
  /** Base chains only: "type nat hook prerouting priority -100; policy accept;". */
  header?: string;
  /** Rule texts, in order. */
  rules: string[];
  /**
   * The last rule ends every packet's walk through the chain (a DNAT, or a
   * goto map covering every index). A new version of such a chain is
   * inserted ahead of the old rules, which are then never reached and are
   * removed in a second transaction (plan.ts says why).
   */
  final?: boolean;
}

export interface Ruleset {
  chains: Map<string, ChainSpec>;
  /** Verdict-map name → key text ("10.96.0.10 . tcp . 80") → verdict ("goto svc-…"). */
  maps: Map<string, Map<string, string>>;
  /** Set name → element key texts (the no-endpoint sets). */
  sets: Map<string, Set<string>>;
  /** ClientIP affinity set name → timeout in seconds (elements are the kernel's: never planned). */
  affinity: Map<string, number>;
}

/** What is known of the kernel's copy of a chain: its header and its rules' hashes. */
export interface AppliedChain {
  header?: string;
  hashes: string[];
  /** The rule texts, when this process wrote them: an unchanged chain is then recognised by comparing strings, without hashing (the steady-state sync of 1,000s of chains). */
  rules?: string[];
}

export interface AppliedRuleset {
  chains: Map<string, AppliedChain>;
  maps: Map<string, Map<string, string>>;
  sets: Map<string, Set<string>>;
  affinity: Map<string, number>;
  /** Maps and sets that exist, with their declaration, so a changed type is redeclared. */
  declared: Map<string, string>;
}

export function emptyApplied(): AppliedRuleset {
  return { chains: new Map(), maps: new Map(), sets: new Map(), affinity: new Map(), declared: new Map() };
}
