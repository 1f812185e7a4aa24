// A small network for the Service proxy's tests and bench: a bridge with a
// gateway, network namespaces on it running busybox httpd (each answers with
// its own name) or idle as clients, and Lodge's NAT in a table of the lab's
// own. Service addresses come from a second free /24 routed onto the bridge,
// so a packet the proxy fails to rewrite stays on the lab's bridge instead of
// leaving the host. Everything is removed by destroy(), by name and pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/agent/images/run.js';
import { ensureBridge, removeBridge } from '../../src/agent/network/bridge.js';
import { hostSubnets } from '../../src/agent/network/free-cidr.js';
import { ensureNat, removeNat } from '../../src/agent/network/nat.js';
import { attachNetns, detachNetns } from '../../src/agent/network/veth.js';

export interface LabHost {
  ns: string;
  ip: string;
  owner: string;
}

export interface LabOptions {
  /** Short and unique on the host (goes into link names): e.g. "sp" + pid. */
  tag: string;
  backends: number;
  clients: number;
  /** The third octet range to pick /24s from: 10.<second>.<x>.0 (default 10.250-255). */
  secondOctets?: number[];
}

const toNum = (ip: string): number => ip.split('.').reduce((a, p) => a * 256 + Number(p), 0);

/** Two /24s no route or address of the host touches. */
function free24s(n: number, seconds: number[], seed: number): string[] {
  const used = hostSubnets();
  const out: string[] = [];
  for (let i = 0; out.length < n && i < seconds.length * 256; i++) {
    const second = seconds[(seed + i) % seconds.length]!;
    const third = (seed * 7 + i * 37) % 256;
    const net = toNum(`10.${second}.${third}.0`);
    const clash = used.some((u) => {
      const len = Math.min(u.len, 24);
      const m = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      return ((u.net & m) >>> 0) === ((net & m) >>> 0);
    });
    const cidr = `10.${second}.${third}.0/24`;
    if (!clash && !out.includes(cidr)) out.push(cidr);
  }
  if (out.length < n) throw new Error('no free 10.x.y.0/24 for the service lab');
  return out;
}

export class ServiceLab {
  readonly bridge: string;
  readonly table: string;
  readonly subnet: string;
  /** Where Service addresses come from (routed onto the bridge). */
  readonly vipNet: string;
  readonly gateway: string;
  readonly backends: LabHost[] = [];
  readonly clients: LabHost[] = [];
  #servers: ChildProcess[] = [];
  #dir: string;

  private constructor(readonly o: LabOptions) {
    const [subnet, vipNet] = free24s(2, o.secondOctets ?? [250, 251, 252, 253, 254, 255], process.pid);
    this.subnet = subnet!;
    this.vipNet = vipNet!;
    this.gateway = this.subnet.replace(/0\/24$/, '1');
    this.bridge = `lt${o.tag}`.slice(0, 15);
    this.table = `lodge-lab-${o.tag}`;
    this.#dir = mkdtempSync(join(tmpdir(), 'lodge-svclab-'));
  }

  /** The n-th Service address (1..254). */
  vip(n: number): string {
    return this.vipNet.replace(/0\/24$/, String(n));
  }

  static async create(o: LabOptions): Promise<ServiceLab> {
    const lab = new ServiceLab(o);
    try {
      await ensureBridge({ name: lab.bridge, gateway: lab.gateway, prefixLength: 24 });
      await ensureNat({ table: lab.table, clusterCidr: lab.subnet, bridge: lab.bridge, ipForward: {} });
      await run('ip', ['route', 'add', lab.vipNet, 'dev', lab.bridge]);
      for (let i = 0; i < o.backends + o.clients; i++) {
        const server = i < o.backends;
        const owner = `svclab-${o.tag}-${i}`;
        const ns = `lodge-${o.tag}-${i}`;
        const ip = lab.subnet.replace(/0\/24$/, String(10 + i));
        await run('ip', ['netns', 'add', ns]);
        await run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
        await attachNetns({ owner, bridge: lab.bridge, netns: ns, address: ip, prefixLength: 24, gateway: lab.gateway });
        (server ? lab.backends : lab.clients).push({ ns, ip, owner });
        if (server) lab.#serve(ns, `backend-${i}`);
      }
      return lab;
    } catch (e) {
      await lab.destroy();
      throw e;
    }
  }

  #serve(ns: string, name: string): void {
    const www = join(this.#dir, name);
    // busybox httpd serves a directory; each backend says who it is.
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, 'index.html'), `${name}\n`);
    const p = spawn('ip', ['netns', 'exec', ns, 'busybox', 'httpd', '-f', '-p', '8080', '-h', www], { stdio: 'ignore' });
    this.#servers.push(p);
  }

  /** One HTTP GET from inside `ns`: the body's first line (the backend's name), or throws with nc's error. */
  async get(ns: string, ip: string, port: number): Promise<string> {
    const out = await run('ip', ['netns', 'exec', ns, 'busybox', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 ${ip} ${port}`]);
    return bodyOf(out);
  }

  /** Whether httpd answers in every backend (started in the background). */
  async serversUp(): Promise<void> {
    for (const b of this.backends) {
      for (let i = 0; ; i++) {
        try {
          await this.get(b.ns, b.ip, 8080);
          break;
        } catch (e) {
          if (i > 50) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  }

  async destroy(): Promise<void> {
    for (const p of this.#servers) if (p.pid && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const h of [...this.backends, ...this.clients]) {
      await detachNetns(h.owner).catch(() => undefined);
      await run('ip', ['netns', 'del', h.ns]).catch(() => undefined);
    }
    await removeBridge(this.bridge).catch(() => undefined);
    await removeNat(this.table, { ipForward: {} }).catch(() => undefined);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

export function bodyOf(response: string): string {
  const i = response.indexOf('\r\n\r\n');
  return (i < 0 ? response : response.slice(i + 4)).trim();
}
