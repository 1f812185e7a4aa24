// Outbound NAT and forwarding for the node's workloads, in one nftables table
// that Lodge owns (inet family: one table for IPv4 and later IPv6). Nothing
// outside that table is ever read-modified-written, so firewalls of the host
// (firewalld, Docker, the admin's own) are left as they are.
//
// Reconciling: the table is read (`nft -j list table`) and compared per
// chain (only this file's chains, postrouting and forward: the Service proxy
// owns the rest of the table); only chains that differ are rewritten, all changes in one `nft -f -`
// transaction (atomic: no moment without masquerade). Each rule carries a
// comment with a hash of its text, so a rule changed by hand or by a new
// spec is recognised without parsing nft's expression JSON.
//
// Note: an accept here does not override a drop in another table's forward
// chain (every base chain on a hook must accept). If the host drops
// forwarding elsewhere (Docker sets policy drop), that has to be allowed there.
import { createHash } from 'node:crypto';
import { run } from '../images/run.js';
import { formatCidr, parseCidr } from './cidr.js';
import { checkIfname } from './iproute.js';
import { enableIpForward, restoreIpForward } from './ip-forward.js';
import { serialized } from './serial.js';

export interface NatSpec {
  /** nft table name (family inet), e.g. "lodge"; tests use "lodge-test-<pid>". */
  table: string;
  /** Addresses of all workloads in the cluster, e.g. "10.244.0.0/16"; traffic from them to outside it is masqueraded. */
  clusterCidr: string;
  /** The node's bridge: traffic leaving through it is not masqueraded (it stays on the node's L2). */
  bridge: string;
  /**
   * When given, ensureNat also turns on IPv4 forwarding (holder "nft:<table>",
   * record in stateFile, default /run/lodge/ip_forward.json) and removeNat
   * with the same option gives it back (restored when no other holder remains).
   */
  ipForward?: { stateFile?: string };
}

export interface NatResult {
  /** Whether the nft table was changed. */
  changed: boolean;
  /** The nft script applied (empty when nothing differed). */
  script: string;
  /** Whether ip_forward was switched on by this call. */
  forwardingEnabled: boolean;
}

interface DesiredChain {
  name: string;
  type: 'nat' | 'filter';
  hook: 'postrouting' | 'forward';
  prio: number;
  policy: 'accept';
  rules: { text: string; comment: string }[];
}

const TABLE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

function checkTable(table: string): string {
  if (!TABLE.test(table)) throw new Error(`nft table name ${JSON.stringify(table)}: must match ${TABLE.source}`);
  return table;
}

function rule(label: string, chain: string, text: string): { text: string; comment: string } {
  const hash = createHash('sha256').update(`${chain}\0${text}`).digest('hex').slice(0, 12);
  return { text, comment: `lodge ${label} ${hash}` };
}

/** The chains Lodge wants in its table for this spec. */
export function desiredChains(spec: NatSpec): DesiredChain[] {
  const cidr = parseCidr(spec.clusterCidr);
  const c = formatCidr(cidr);
  const br = checkIfname(spec.bridge, 'bridge');
  const ipv = cidr.family === 4 ? 'ip' : 'ip6';
  return [
    {
      name: 'postrouting',
      type: 'nat',
      hook: 'postrouting',
      // srcnat: after any filtering, as masquerade belongs last.
      prio: 100,
      policy: 'accept',
      rules: [
        // Not to other workloads (another node's pods keep their source address), not out through the bridge itself.
        rule('masquerade', 'postrouting', `${ipv} saddr ${c} ${ipv} daddr != ${c} oifname != "${br}" masquerade`),
      ],
    },
    {
      name: 'forward',
      type: 'filter',
      hook: 'forward',
      prio: 0,
      // accept: this chain adds permission for the bridge; it must never drop what other software forwards.
      policy: 'accept',
      rules: [rule('from-bridge', 'forward', `iifname "${br}" accept`), rule('to-bridge', 'forward', `oifname "${br}" accept`)],
    },
  ];
}

interface NftChain {
  family: string;
  table: string;
  name: string;
  type?: string;
  hook?: string;
  prio?: number;
  policy?: string;
}
interface NftRule {
  family: string;
  table: string;
  chain: string;
  comment?: string;
}
type NftObject = { chain?: NftChain; rule?: NftRule; table?: unknown };

async function nft(args: string[], input: string | undefined, ctx: string): Promise<string> {
  try {
    return await run('nft', args, input === undefined ? {} : { input });
  } catch (e) {
    throw new Error(`${ctx}: ${(e as Error).message}${input ? `\nscript:\n${input}` : ''}`);
  }
}

/** The table as nft reports it, or null when it does not exist. */
async function readTable(table: string): Promise<NftObject[] | null> {
  try {
    const out = await run('nft', ['-j', 'list', 'table', 'inet', table]);
    return (JSON.parse(out) as { nftables: NftObject[] }).nftables;
  } catch (e) {
    if (/No such file or directory/.test((e as Error).message)) return null;
    throw new Error(`nft table inet ${table}: cannot list: ${(e as Error).message}`);
  }
}

function chainHeader(c: DesiredChain): string {
  return `{ type ${c.type} hook ${c.hook} priority ${c.prio}; policy ${c.policy}; }`;
}

/** The nft script that turns `current` (null: no table) into `want`; empty when they match. */
export function planNat(table: string, want: DesiredChain[], current: NftObject[] | null): string {
  const t = `inet ${table}`;
  const lines: string[] = [];
  const addChain = (c: DesiredChain): void => {
    lines.push(`add chain ${t} ${c.name} ${chainHeader(c)}`);
    for (const r of c.rules) lines.push(`add rule ${t} ${c.name} ${r.text} comment "${r.comment}"`);
  };
  if (!current) {
    lines.push(`add table ${t}`);
    want.forEach(addChain);
    return lines.join('\n');
  }
  const chains = new Map<string, NftChain>();
  const rules = new Map<string, string[]>();
  for (const o of current) {
    if (o.chain) chains.set(o.chain.name, o.chain);
    if (o.rule) rules.set(o.rule.chain, [...(rules.get(o.rule.chain) ?? []), o.rule.comment ?? '']);
  }
  for (const c of want) {
    const have = chains.get(c.name);
    if (!have) {
      addChain(c);
      continue;
    }
    if (have.type !== c.type || have.hook !== c.hook || have.prio !== c.prio || have.policy !== c.policy) {
      // A base chain's hook cannot be altered in place: replace it within this same transaction.
      lines.push(`flush chain ${t} ${c.name}`, `delete chain ${t} ${c.name}`);
      addChain(c);
      continue;
    }
    const comments = rules.get(c.name) ?? [];
    if (comments.length !== c.rules.length || comments.some((cm, i) => cm !== c.rules[i]!.comment)) {
      lines.push(`flush chain ${t} ${c.name}`);
      for (const r of c.rules) lines.push(`add rule ${t} ${c.name} ${r.text} comment "${r.comment}"`);
    }
  }
  // Other chains of the table are not NAT's: the Service proxy (service-proxy/) keeps its own beside these.
  return lines.join('\n');
}

/** Make Lodge's table match the spec (changing only chains that differ), and turn on forwarding if asked. */
export function ensureNat(spec: NatSpec): Promise<NatResult> {
  const table = checkTable(spec.table);
  const want = desiredChains(spec);
  // Serialized: two reconciles reading the same old table would both add the missing chain.
  return serialized(`nft:${table}`, async () => {
    const forwardingEnabled = spec.ipForward ? (await enableIpForward({ holder: forwardHolder(table), stateFile: spec.ipForward.stateFile })).changed : false;
    const script = planNat(table, want, await readTable(table));
    if (script) await nft(['-f', '-'], script + '\n', `nft table inet ${table}`);
    return { changed: script !== '', script, forwardingEnabled };
  });
}

/** Delete Lodge's table (and give back ip_forward when asked). False when the table was not there. */
/** The ip_forward holder for a table: the table names one Lodge network on the host. */
export function forwardHolder(table: string): string {
  return `nft:${table}`;
}

export function removeNat(table: string, opts: { ipForward?: { stateFile?: string } } = {}): Promise<boolean> {
  checkTable(table);
  return serialized(`nft:${table}`, () => remove(table, opts));
}

async function remove(table: string, opts: { ipForward?: { stateFile?: string } }): Promise<boolean> {
  let removed = true;
  try {
    await run('nft', ['delete', 'table', 'inet', table]);
  } catch (e) {
    if (!/No such file or directory/.test((e as Error).message)) throw new Error(`nft table inet ${table}: cannot delete: ${(e as Error).message}`);
    removed = false;
  }
  if (opts.ipForward) await restoreIpForward({ holder: forwardHolder(table), stateFile: opts.ipForward.stateFile });
  return removed;
}
