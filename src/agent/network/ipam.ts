// Node-local IP address management over the node's podCIDR: one address per
// owner (a Pod or Instance uid), the same one again when asked again, kept in
// a JSON file. Every change is written to a temporary file and renamed over
// the old one before the address is handed out, so after a restart or a
// SIGKILL at any point the file holds either the old or the new state, never
// a torn one, and no address that was handed out is forgotten (no duplicate).
//
// The file is re-read under the lock on every operation: several Ipam objects
// on one file in this process see each other's allocations. Other processes
// are not coordinated with (one agent owns a node's file).
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { contains, formatCidr, formatIp, parseCidr, parseIp, sizeOf, type Cidr, type IpFamily } from './cidr.js';
import { serialized } from './serial.js';

export interface IpamOptions {
  /** The JSON state file, e.g. <dataDir>/network/ipam.json. */
  file: string;
  /** The node's subnet, e.g. "10.244.3.0/24". */
  subnet: string;
  /** Default: the first host address (.1). Never allocated. */
  gateway?: string;
  /** More addresses never to allocate (a DNS VIP, a router). */
  reserved?: string[];
}

export interface Allocation {
  owner: string;
  family: IpFamily;
  address: string;
  prefixLength: number;
  gateway: string;
}

interface IpamFile {
  version: 1;
  subnet: string;
  /** The last address handed out: allocation continues after it, so a just-released address is not reused at once (stale ARP and conntrack entries elsewhere still point at it). */
  last?: string;
  /** owner → address. */
  allocations: Record<string, string>;
}

export class Ipam {
  readonly file: string;
  readonly subnet: Cidr;
  readonly gateway: string;
  readonly #reserved: Set<bigint>;
  readonly #first: bigint;
  readonly #lastHost: bigint;

  constructor(opts: IpamOptions) {
    this.file = resolve(opts.file);
    this.subnet = parseCidr(opts.subnet);
    const { family, network } = this.subnet;
    const size = sizeOf(this.subnet);
    // IPv4 loses network and broadcast; IPv6 the subnet-router anycast address (the network address) only.
    this.#first = network + 1n;
    this.#lastHost = family === 4 ? network + size - 2n : network + size - 1n;
    if (this.#lastHost <= this.#first) throw new Error(`IPAM ${this.file}: subnet ${opts.subnet} is too small (no address left besides the gateway)`);
    const gw = opts.gateway ? parseIp(opts.gateway) : { family, value: this.#first };
    if (!contains(this.subnet, gw.family, gw.value)) throw new Error(`IPAM ${this.file}: gateway ${opts.gateway} is outside ${opts.subnet}`);
    this.gateway = formatIp(family, gw.value);
    this.#reserved = new Set([gw.value]);
    for (const r of opts.reserved ?? []) {
      const ip = parseIp(r);
      if (contains(this.subnet, ip.family, ip.value)) this.#reserved.add(ip.value);
    }
  }

  /**
   * The owner's address: the one it already has, else a free one (persisted
   * before it is returned). `requested` (a user's static address) is given
   * when it is a free host address of the subnet — also in place of one the
   * owner held before — and refused with an IpamRequestError saying why
   * otherwise.
   */
  allocate(owner: string, requested?: string): Promise<Allocation> {
    checkOwner(owner);
    return serialized(`ipam:${this.file}`, async () => {
      const state = await this.#read();
      const had = state.allocations[owner];
      if (requested !== undefined) return this.#allocateRequested(state, owner, requested);
      if (had !== undefined) return this.#allocation(owner, had);
      const used = new Set<bigint>(this.#reserved);
      for (const a of Object.values(state.allocations)) used.add(parseIp(a).value);
      const hosts = this.#lastHost - this.#first + 1n;
      if (BigInt(used.size) >= hosts) {
        throw new Error(`IPAM ${this.file}: subnet ${formatCidr(this.subnet)} is full (${used.size} of ${hosts} addresses taken, gateway and reserved included); cannot allocate for ${owner}`);
      }
      // With no history, start just below the range so the first candidate is the first host address.
      const last = state.last ? parseIp(state.last).value : this.#first - 1n;
      let candidate = last;
      // At most used.size + 1 steps: there are only that many taken addresses to skip.
      for (let i = 0; i <= used.size; i++) {
        candidate = candidate >= this.#lastHost || candidate < this.#first ? this.#first : candidate + 1n;
        if (!used.has(candidate)) break;
      }
      if (used.has(candidate)) throw new Error(`IPAM ${this.file}: no free address found in ${formatCidr(this.subnet)} for ${owner}`);
      const address = formatIp(this.subnet.family, candidate);
      state.allocations[owner] = address;
      state.last = address;
      await this.#write(state);
      return this.#allocation(owner, address);
    });
  }

  async #allocateRequested(state: IpamFile, owner: string, requested: string): Promise<Allocation> {
    let ip;
    try {
      ip = parseIp(requested);
    } catch (e) {
      throw new IpamRequestError(`${requested} is not an IP address (${(e as Error).message})`);
    }
    const subnet = formatCidr(this.subnet);
    if (!contains(this.subnet, ip.family, ip.value)) throw new IpamRequestError(`${requested} is outside the node's subnet ${subnet}`);
    if (ip.value < this.#first || ip.value > this.#lastHost) throw new IpamRequestError(`${requested} is the network or broadcast address of ${subnet}`);
    if (this.#reserved.has(ip.value)) throw new IpamRequestError(`${requested} is reserved in ${subnet}${ip.value === parseIp(this.gateway).value ? ' (the gateway)' : ''}`);
    const address = formatIp(ip.family, ip.value);
    if (state.allocations[owner] === address) return this.#allocation(owner, address);
    const holder = Object.entries(state.allocations).find(([o, a]) => o !== owner && parseIp(a).value === ip.value)?.[0];
    if (holder !== undefined) throw new IpamRequestError(`${requested} is already in use (by ${holder})`);
    state.allocations[owner] = address;
    await this.#write(state);
    return this.#allocation(owner, address);
  }

  /** Free the owner's address. False when it had none (release is idempotent). */
  release(owner: string): Promise<boolean> {
    checkOwner(owner);
    return serialized(`ipam:${this.file}`, async () => {
      const state = await this.#read();
      if (state.allocations[owner] === undefined) return false;
      delete state.allocations[owner];
      await this.#write(state);
      return true;
    });
  }

  get(owner: string): Promise<Allocation | undefined> {
    return serialized(`ipam:${this.file}`, async () => {
      const a = (await this.#read()).allocations[owner];
      return a === undefined ? undefined : this.#allocation(owner, a);
    });
  }

  /** Every allocation, e.g. for the agent to release those whose owner no longer exists. */
  list(): Promise<Allocation[]> {
    return serialized(`ipam:${this.file}`, async () => Object.entries((await this.#read()).allocations).map(([o, a]) => this.#allocation(o, a)));
  }

  #allocation(owner: string, address: string): Allocation {
    return { owner, family: this.subnet.family, address, prefixLength: this.subnet.prefixLength, gateway: this.gateway };
  }

  async #read(): Promise<IpamFile> {
    const subnet = formatCidr(this.subnet);
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, subnet, allocations: {} };
      throw new Error(`IPAM ${this.file}: cannot read: ${(e as Error).message}`);
    }
    let state: IpamFile;
    try {
      state = JSON.parse(text) as IpamFile;
    } catch (e) {
      // Never start over from empty: that would hand out addresses still in use.
      throw new Error(`IPAM ${this.file}: not valid JSON (${(e as Error).message}); fix or remove it by hand`);
    }
    if (state.version !== 1 || typeof state.allocations !== 'object' || state.allocations === null) {
      throw new Error(`IPAM ${this.file}: unknown format (version ${String(state.version)})`);
    }
    // A changed podCIDR needs a decision (drain the node, re-address workloads); not silently mixing two subnets in one file.
    if (state.subnet !== subnet) throw new Error(`IPAM ${this.file}: holds allocations for subnet ${state.subnet}, not ${subnet}`);
    return state;
  }

  async #write(state: IpamFile): Promise<void> {
    const tmp = `${this.file}.tmp-${process.pid}`;
    try {
      const fh = await open(tmp, 'w', 0o644);
      try {
        await fh.writeFile(JSON.stringify(state, null, 1) + '\n');
        // fsync before rename: otherwise a power loss can leave the renamed file empty (ext4 delayed allocation).
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw new Error(`IPAM ${this.file}: cannot write: ${(e as Error).message}`);
    }
    // The rename itself is durable only once the directory is synced; best effort (some filesystems refuse fsync on a directory).
    const dir = await open(dirname(this.file), 'r').catch(() => undefined);
    if (dir) await dir.sync().catch(() => undefined).finally(() => dir.close());
  }
}

/** A requested address that cannot be given (outside the subnet, reserved, taken): the caller's input, not IPAM's failure. */
export class IpamRequestError extends Error {}

function checkOwner(owner: string): void {
  if (typeof owner !== 'string' || owner.length === 0) throw new Error('IPAM: owner must be a non-empty string');
}
