// Running iproute2 for the network modules: a batch of commands in one `ip`
// process (every process the agent starts blocks its event loop for the
// fork, and ip's own startup costs more than a netlink call), in the host's
// or a workload's network namespace, with JSON output parsed.
import { run } from '../images/run.js';

/** A network namespace: a name under /run/netns (`ip netns add`) or a path to an nsfs file (/proc/PID/ns/net, a bind mount). */
export type NetnsRef = string;

/** The parts of `ip -j -d link/addr` output the network modules read. */
export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  address?: string;
  ifalias?: string;
  master?: string;
  operstate?: string;
  /** For a veth: the peer's ifindex (in the peer's namespace). */
  link_index?: number;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string; info_slave_kind?: string; info_data?: Record<string, unknown> };
  addr_info?: IpAddrInfo[];
}

export interface IpAddrInfo {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope?: string;
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** Interface names go into batch lines unquoted: refuse anything that could split one or exceed IFNAMSIZ. */
export function checkIfname(name: string, what = 'interface'): string {
  if (!IFNAME.test(name)) throw new Error(`${what} name ${JSON.stringify(name)}: must be 1-15 of [A-Za-z0-9_.-]`);
  return name;
}

/** The netns as `ip -n` takes it (a bare name), or undefined when only a path will do. */
function netnsName(ref: NetnsRef): string | undefined {
  if (!ref.includes('/')) return ref;
  const m = /^\/run\/netns\/([^/]+)$/.exec(ref);
  return m?.[1];
}

/** The path of the netns file, for `ip link ... netns PATH` (ip opens any path containing a slash). */
export function netnsPath(ref: NetnsRef): string {
  return ref.includes('/') ? ref : `/run/netns/${ref}`;
}

/** `ip [global opts]` in the given netns: `ip -n NAME` for named ones, nsenter for other paths (`ip -n` takes names only). */
function ipCommand(netns: NetnsRef | undefined, globals: string[]): { cmd: string; args: string[] } {
  if (netns === undefined) return { cmd: 'ip', args: globals };
  const name = netnsName(netns);
  if (name !== undefined) return { cmd: 'ip', args: ['-n', name, ...globals] };
  return { cmd: 'nsenter', args: [`--net=${netns}`, 'ip', ...globals] };
}

export interface IpOptions {
  netns?: NetnsRef;
  /** Said first in an error: which device/netns the commands were for. */
  context: string;
}

/** A failed batch, with the 1-based number of the line that failed (when ip said). */
export class IpBatchError extends Error {
  constructor(
    message: string,
    readonly line: number | undefined,
  ) {
    super(message);
  }
}

/** Runs `lines` as one `ip -batch -`; a failure names the line that failed. */
export async function ipBatch(lines: string[], opts: IpOptions & { json?: boolean; details?: boolean }): Promise<string> {
  const globals = [...(opts.json ? ['-j'] : []), ...(opts.details ? ['-d'] : []), '-batch', '-'];
  const { cmd, args } = ipCommand(opts.netns, globals);
  try {
    return await run(cmd, args, { input: lines.join('\n') + '\n' });
  } catch (e) {
    const msg = (e as Error).message;
    const n = /Command failed -:(\d+)/.exec(msg);
    const line = n ? lines[Number(n[1]) - 1] : undefined;
    const where = opts.netns ? ` in netns ${opts.netns}` : '';
    throw new IpBatchError(`${opts.context}: ip batch${where} failed${line ? ` at "${line}"` : ''}: ${msg}`, n ? Number(n[1]) : undefined);
  }
}

/** Batch output with -j: one JSON array per command, each on its own line. */
export function parseBatchJson<T>(out: string): T[][] {
  return out
    .split('\n')
    .filter((l) => l.trim().startsWith('['))
    .map((l) => JSON.parse(l) as T[]);
}

function isMissingDevice(e: Error): boolean {
  return /does not exist|Cannot find device/.test(e.message);
}

/** `ip -j -d link show dev NAME`, or null when there is no such device. */
export async function showLink(name: string, opts: IpOptions): Promise<IpLink | null> {
  return showOne('link', name, opts);
}

/** `ip -j -d addr show dev NAME` (link fields plus addr_info), or null when there is no such device. */
export async function showAddr(name: string, opts: IpOptions): Promise<IpLink | null> {
  return showOne('addr', name, opts);
}

async function showOne(what: 'link' | 'addr', name: string, opts: IpOptions): Promise<IpLink | null> {
  const { cmd, args } = ipCommand(opts.netns, ['-j', '-d', what, 'show', 'dev', checkIfname(name)]);
  try {
    const out = JSON.parse(await run(cmd, args)) as IpLink[];
    return out[0] ?? null;
  } catch (e) {
    if (isMissingDevice(e as Error)) return null;
    throw new Error(`${opts.context}: ip ${what} show dev ${name}${opts.netns ? ` in netns ${opts.netns}` : ''}: ${(e as Error).message}`);
  }
}

/** `ip link del NAME`; false when it was already gone (deleting is idempotent). */
export async function deleteLink(name: string, opts: IpOptions): Promise<boolean> {
  const { cmd, args } = ipCommand(opts.netns, ['link', 'del', 'dev', checkIfname(name)]);
  try {
    await run(cmd, args);
    return true;
  } catch (e) {
    if (isMissingDevice(e as Error)) return false;
    throw new Error(`${opts.context}: ip link del ${name}: ${(e as Error).message}`);
  }
}

/** The IPv4 addresses on a link, as "a.b.c.d/p". */
export function ipv4Addresses(link: IpLink): string[] {
  return (link.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
}
