// Reads the proxy's part of Lodge's table back from the kernel (nft -j), so
// an agent that starts (after a crash, a SIGKILL, an upgrade) knows what is
// already there and changes only the difference: rules that are right stay,
// with their handles, and so do open connections.
import { DECLARATIONS } from './base-ruleset.js';
import { runNft } from './nft-run.js';
import { OWNED_CHAIN, OWNED_SET } from './names.js';
import { emptyApplied, type AppliedRuleset } from './ruleset.js';

type Json = Record<string, unknown>;
interface NftChain { name: string; handle?: number; type?: string; hook?: string; prio?: number; policy?: string }
interface NftRule { chain: string; comment?: string }
interface NftSetLike { name: string; type: string | string[]; map?: string; timeout?: number; flags?: string[]; elem?: unknown[] }

const PROTO_BY_NUMBER: Record<string, string> = { '6': 'tcp', '17': 'udp', '132': 'sctp' };

/** The table's objects as nft lists them, or null when there is no such table. */
export async function listTable(table: string): Promise<Json[] | null> {
  try {
    const out = await runNft(['-j', 'list', 'table', 'inet', table]);
    return (JSON.parse(out) as { nftables: Json[] }).nftables;
  } catch (e) {
    if (/No such file or directory/.test((e as Error).message)) return null;
    throw new Error(`nft table inet ${table}: cannot list: ${(e as Error).message}`);
  }
}

/** The proxy's objects in the listing, in the shape plan.ts compares against. */
export function appliedFromListing(objects: Json[] | null): AppliedRuleset {
  const out = emptyApplied();
  for (const o of objects ?? []) {
    if (o.chain) {
      const c = o.chain as NftChain;
      if (!OWNED_CHAIN.test(c.name)) continue;
      const header = c.hook ? `type ${c.type} hook ${c.hook} priority ${c.prio}; policy ${c.policy ?? 'accept'};` : undefined;
      out.chains.set(c.name, { header, hashes: out.chains.get(c.name)?.hashes ?? [] });
    } else if (o.rule) {
      const r = o.rule as NftRule;
      if (!OWNED_CHAIN.test(r.chain)) continue;
      const c = out.chains.get(r.chain) ?? { hashes: [] };
      // A rule without our comment (added by hand) hashes to nothing we want, so its chain is rewritten.
      c.hashes.push(r.comment?.startsWith('h:') ? r.comment.slice(2) : '?');
      out.chains.set(r.chain, c);
    } else if (o.map || o.set) {
      const s = (o.map ?? o.set) as NftSetLike;
      if (!OWNED_SET.test(s.name)) continue;
      if (s.name.startsWith('aff-')) {
        out.affinity.set(s.name, s.timeout ?? 0);
        continue;
      }
      const type = Array.isArray(s.type) ? s.type.join(' . ') : s.type;
      const kind = o.map ? 'map' : 'set';
      out.declared.set(s.name, `${kind} ${s.name} { type ${type}${s.map ? ` : ${s.map}` : ''}; }`);
      if (o.map) out.maps.set(s.name, new Map((s.elem ?? []).map((e) => mapElement(e))));
      else out.sets.set(s.name, new Set((s.elem ?? []).map((e) => keyText(e))));
    }
  }
  // Declarations we do not know (an unknown map or set with our prefix) stay as they are.
  for (const name of out.declared.keys()) if (!DECLARATIONS.has(name)) out.declared.delete(name);
  return out;
}

function mapElement(e: unknown): [string, string] {
  const [key, verdict] = e as [unknown, Json];
  const kind = Object.keys(verdict)[0]!;
  const target = (verdict[kind] as { target?: string } | null)?.target;
  return [keyText(key), target ? `${kind} ${target}` : kind];
}

/** "10.96.0.10 . tcp . 80", as desired-state.ts writes keys (protocols by name, whatever nft printed). */
function keyText(k: unknown): string {
  const inner = k && typeof k === 'object' && 'elem' in (k as Json) ? ((k as Json).elem as Json).val : k;
  const parts = inner && typeof inner === 'object' && 'concat' in (inner as Json) ? ((inner as Json).concat as unknown[]) : [inner];
  // The protocol is the next-to-last part of every key of ours.
  return parts.map((p, i) => (i === parts.length - 2 && typeof p === 'number' ? (PROTO_BY_NUMBER[String(p)] ?? String(p)) : String(p))).join(' . ');
}
