// The node's network primitives on the real host: a bridge, veths into
// network namespaces, a tap, the IPAM file, NAT in Lodge's own nft table and
// ip_forward — and that removing everything leaves the host's network as it
// was. Runs as root, in parallel with other test files: every name carries
// this process's pid, the subnets are picked free of the host's routes, and
// only addresses inside namespaces made here are contacted.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { run } from '../../src/agent/images/run.js';
import { ensureBridge, removeBridge } from '../../src/agent/network/bridge.js';
import { formatCidr, formatIp, overlaps, parseCidr, parseIp, type Cidr } from '../../src/agent/network/cidr.js';
import { enableIpForward, ipForwardHolders, restoreIpForward } from '../../src/agent/network/ip-forward.js';
import { Ipam, IpamRequestError } from '../../src/agent/network/ipam.js';
import { showLink } from '../../src/agent/network/iproute.js';
import { macFromOwner, normalizeMac } from '../../src/agent/network/mac.js';
import { desiredChains, ensureNat, forwardHolder, planNat, removeNat } from '../../src/agent/network/nat.js';
import { ensureTap, qemuNicArgs, removeTap, tapName, tapOwnersOn } from '../../src/agent/network/tap.js';
import { attachNetns, detachNetns, vethHostName } from '../../src/agent/network/veth.js';
import { captureHostNetwork, diffHostNetwork, type HostNetworkSnapshot } from './host-snapshot.js';

const root = process.getuid?.() === 0;
const pid = process.pid;
const BRIDGE = `ltbr${pid}`;
const NS_A = `lodge-nt${pid}a`;
const NS_B = `lodge-nt${pid}b`;
/** Stands for "the outside world": reached through the host's routing, not the bridge. */
const NS_OUT = `lodge-nt${pid}o`;
const OUT_HOST = `lxo${pid}`;
const TABLE = `lodge-test-${pid}`;
const OWNER_A = `nettest-${pid}-a`;
const OWNER_B = `nettest-${pid}-b`;
const OWNER_VM = `nettest-${pid}-vm`;
const OWNER_VM_MQ = `nettest-${pid}-vmmq`;
const OURS = new Set([BRIDGE, OUT_HOST, vethHostName(OWNER_A), vethHostName(OWNER_B), tapName(OWNER_VM), tapName(OWNER_VM_MQ)]);
// Other test runs' devices and tables come and go meanwhile: leave them out of the before/after comparison, never ours.
const LODGE_LIKE = /^(lv|lt|lx|lodge)/;
const snapshotFilter = {
  ignoreLink: (n: string) => LODGE_LIKE.test(n) && !OURS.has(n),
  ignoreTable: (n: string) => n.startsWith('lodge') && n !== TABLE,
};

const ms = (t0: number): string => `${(performance.now() - t0).toFixed(1)} ms`;
const ipIn = (ns: string, args: string[]): Promise<string> => run('ip', ['netns', 'exec', ns, ...args]);
const ping = (ns: string, ip: string): Promise<string> => ipIn(ns, ['busybox', 'ping', '-c1', '-W2', ip]);
const pingFails = async (ns: string, ip: string): Promise<boolean> => ipIn(ns, ['busybox', 'ping', '-c1', '-W1', ip]).then(
  () => false,
  () => true,
);

/** Two /24s that no route or address on the host touches, derived from the pid (10.200-249.x.0/24). */
async function freeSubnets(n: number): Promise<Cidr[]> {
  const used: Cidr[] = [];
  const routes = JSON.parse(await run('ip', ['-j', '-4', 'route', 'show', 'table', 'all'])) as { dst: string }[];
  const addrs = JSON.parse(await run('ip', ['-j', '-4', 'addr'])) as { addr_info: { local: string; prefixlen: number }[] }[];
  const cidrOf = (ip: string, len: number): Cidr | undefined => {
    try {
      const { value } = parseIp(ip);
      const mask = len === 0 ? 0n : ((1n << 32n) - 1n) << BigInt(32 - len);
      return { family: 4, network: value & mask & ((1n << 32n) - 1n), prefixLength: len };
    } catch {
      return undefined;
    }
  };
  for (const r of routes) {
    if (r.dst === 'default') continue;
    const [ip, len] = r.dst.split('/');
    const c = cidrOf(ip!, len === undefined ? 32 : Number(len));
    if (c) used.push(c);
  }
  for (const l of addrs) for (const a of l.addr_info) used.push(cidrOf(a.local, a.prefixlen)!);
  const out: Cidr[] = [];
  for (let i = 0; out.length < n && i < 2000; i++) {
    const c = parseCidr(`10.${200 + ((pid + i) % 50)}.${(Math.floor(pid / 50) + i * 37) % 256}.0/24`);
    if (!used.some((u) => overlaps(u, c)) && !out.some((o) => overlaps(o, c))) out.push(c);
  }
  assert.equal(out.length, n, 'no free 10.2xx.x.0/24 on this host');
  return out;
}

test('mac: deterministic, locally administered unicast, distinct per owner and purpose', () => {
  const m = macFromOwner('pod-1');
  assert.equal(m, macFromOwner('pod-1'));
  assert.match(m, /^0e(:[0-9a-f]{2}){5}$/);
  const first = parseInt(m.slice(0, 2), 16);
  assert.equal(first & 0x02, 0x02, 'locally administered');
  assert.equal(first & 0x01, 0, 'unicast');
  assert.notEqual(macFromOwner('pod-2'), m);
  assert.notEqual(macFromOwner('pod-1', 'tap'), m);
  assert.equal(normalizeMac('0E:AA:bb:01:02:03'), '0e:aa:bb:01:02:03');
  assert.throws(() => normalizeMac('01:00:5e:00:00:01'), /multicast/);
});

test('cidr: IPv4 and IPv6 parse, format and overlap', () => {
  assert.equal(formatCidr(parseCidr('10.244.3.0/24')), '10.244.3.0/24');
  assert.throws(() => parseCidr('10.244.3.1/24'), /host bits set \(did you mean 10\.244\.3\.0\/24\?\)/);
  assert.throws(() => parseCidr('10.244.3.0/33'), /prefix longer than 32/);
  assert.ok(overlaps(parseCidr('10.0.0.0/8'), parseCidr('10.244.3.0/24')));
  assert.ok(!overlaps(parseCidr('10.244.2.0/24'), parseCidr('10.244.3.0/24')));
  assert.equal(formatCidr(parseCidr('fd00:0:0:0:0:0:0:0/64')), 'fd00::/64');
  const v6 = parseIp('2001:db8::1:0:0:1');
  assert.equal(v6.family, 6);
  assert.equal(formatIp(6, v6.value), '2001:db8::1:0:0:1');
  assert.equal(formatIp(6, parseIp('2001:db8:0:0:1:0:0:1').value), '2001:db8::1:0:0:1');
});

test('ipam: IPv6 subnets allocate too (types ready for dual stack)', async () => {
  const d = mkdtempSync(join(tmpdir(), 'lodge-ipam6-'));
  try {
    const ipam = new Ipam({ file: join(d, 'ipam6.json'), subnet: 'fd00:10:244:3::/64' });
    assert.equal(ipam.gateway, 'fd00:10:244:3::1');
    const a = await ipam.allocate('a');
    assert.deepEqual(a, { owner: 'a', family: 6, address: 'fd00:10:244:3::2', prefixLength: 64, gateway: 'fd00:10:244:3::1' });
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('ipam: a requested address is given when it is a free host address of the subnet, refused saying why otherwise', async () => {
  const d = mkdtempSync(join(tmpdir(), 'lodge-ipamreq-'));
  try {
    const ipam = new Ipam({ file: join(d, 'ipam.json'), subnet: '10.61.7.0/24' });
    assert.equal((await ipam.allocate('vm', '10.61.7.50')).address, '10.61.7.50');
    assert.equal((await ipam.allocate('vm', '10.61.7.50')).address, '10.61.7.50', 'asked again: the same');
    assert.equal((await ipam.allocate('vm')).address, '10.61.7.50', 'without a request: what it holds');
    const refused = async (owner: string, ip: string, why: RegExp): Promise<void> => {
      await assert.rejects(ipam.allocate(owner, ip), (e: unknown) => e instanceof IpamRequestError && why.test(e.message));
    };
    await refused('other', '10.61.7.50', /10\.61\.7\.50 is already in use \(by vm\)/);
    await refused('other', '10.61.8.5', /outside the node's subnet 10\.61\.7\.0\/24/);
    await refused('other', '10.61.7.1', /reserved .*\(the gateway\)/);
    await refused('other', '10.61.7.255', /network or broadcast/);
    await refused('other', 'fd00::5', /outside/);
    await refused('other', 'nonsense', /not an IP address/);
    assert.equal(await ipam.get('other'), undefined, 'nothing allocated by a refusal');
    // A changed request moves the owner: the old address is free again.
    assert.equal((await ipam.allocate('vm', '10.61.7.60')).address, '10.61.7.60');
    assert.equal((await ipam.allocate('other', '10.61.7.50')).address, '10.61.7.50');
    // Automatic allocation skips requested ones.
    const auto = await Promise.all(Array.from({ length: 60 }, (_, i) => ipam.allocate(`auto-${i}`)));
    assert.ok(!auto.some((a) => ['10.61.7.50', '10.61.7.60'].includes(a.address)));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('ip_forward: enabled only if off, previous value restored by the last holder', async () => {
  const d = mkdtempSync(join(tmpdir(), 'lodge-ipf-'));
  try {
    const sysctl = join(d, 'ip_forward');
    const stateFile = join(d, 'state.json');
    const o = (holder: string) => ({ holder, stateFile, sysctl });
    writeFileSync(sysctl, '0\n');
    assert.deepEqual(await enableIpForward(o('a')), { changed: true, previous: '0' });
    assert.equal(readFileSync(sysctl, 'utf8').trim(), '1');
    // Again (an agent restart), and a second network on the host: no change, the original value still remembered.
    assert.deepEqual(await enableIpForward(o('a')), { changed: false, previous: '0' });
    assert.deepEqual(await enableIpForward(o('b')), { changed: false, previous: '0' });
    assert.deepEqual(await ipForwardHolders(stateFile), ['a', 'b']);
    assert.equal(await restoreIpForward(o('a')), true);
    assert.equal(readFileSync(sysctl, 'utf8').trim(), '1', 'b still needs it');
    assert.equal(await restoreIpForward(o('a')), false);
    assert.equal(await restoreIpForward(o('b')), true);
    assert.equal(readFileSync(sysctl, 'utf8').trim(), '0', 'the last holder restores');
    assert.deepEqual(await ipForwardHolders(stateFile), []);
    // Already on before Lodge: left on when Lodge's network goes.
    writeFileSync(sysctl, '1\n');
    assert.deepEqual(await enableIpForward(o('a')), { changed: false, previous: '1' });
    await restoreIpForward(o('a'));
    assert.equal(readFileSync(sysctl, 'utf8').trim(), '1');
    // Concurrent holders (the lock file): all recorded.
    await Promise.all(Array.from({ length: 10 }, (_, i) => enableIpForward(o(`c${i}`))));
    assert.equal((await ipForwardHolders(stateFile)).length, 10);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('nat plan: whole table when missing, nothing when equal, one chain when one differs', () => {
  const spec = { table: 'lodge-x', clusterCidr: '10.244.0.0/16', bridge: 'lodge0' };
  const want = desiredChains(spec);
  const fresh = planNat('lodge-x', want, null);
  assert.match(fresh, /^add table inet lodge-x\n/);
  assert.match(fresh, /add rule inet lodge-x postrouting ip saddr 10\.244\.0\.0\/16 ip daddr != 10\.244\.0\.0\/16 oifname != "lodge0" masquerade comment "lodge masquerade [0-9a-f]{12}"/);
  // The table as nft would list it after applying `fresh`.
  const listed = [
    { table: { family: 'inet', name: 'lodge-x' } },
    ...want.map((c) => ({ chain: { family: 'inet', table: 'lodge-x', name: c.name, type: c.type, hook: c.hook, prio: c.prio, policy: c.policy } })),
    ...want.flatMap((c) => c.rules.map((r) => ({ rule: { family: 'inet', table: 'lodge-x', chain: c.name, comment: r.comment } }))),
  ];
  assert.equal(planNat('lodge-x', want, listed), '');
  const moved = desiredChains({ ...spec, clusterCidr: '10.245.0.0/16' });
  const plan = planNat('lodge-x', moved, listed);
  assert.match(plan, /^flush chain inet lodge-x postrouting\nadd rule inet lodge-x postrouting ip saddr 10\.245/);
  assert.doesNotMatch(plan, /forward/);
  // Chains that are not NAT's (the Service proxy's) are left alone.
  const extra = [...listed, { chain: { family: 'inet', table: 'lodge-x', name: 'svc-services' } }];
  assert.equal(planNat('lodge-x', want, extra), '');
});

describe('node network', { skip: !root && 'needs root' }, () => {
  let dir: string;
  let snapshot: HostNetworkSnapshot;
  let subnet: Cidr;
  let outside: Cidr;
  let gateway: string;
  let ipam: Ipam;
  let ipA: string;
  let ipB: string;
  let listener: ChildProcess | undefined;
  // ip_forward is host-wide: the shared record (/run/lodge/ip_forward.json), so parallel runs and a real agent cooperate.
  const forwarding = { holder: forwardHolder(TABLE) };
  /** The nc listener exits after its one connection; stop it (by its own pid) only if it is still there. */
  const stopListener = (): void => {
    if (listener?.pid && listener.exitCode === null && listener.signalCode === null) listener.kill();
    listener = undefined;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lodge-net-'));
    snapshot = await captureHostNetwork(snapshotFilter);
    [subnet, outside] = (await freeSubnets(2)) as [Cidr, Cidr];
    const s = formatCidr(subnet).split('.');
    gateway = `${s[0]}.${s[1]}.${s[2]}.1`;
    ipam = new Ipam({ file: join(dir, 'ipam.json'), subnet: formatCidr(subnet) });
    console.log(`# bridge ${BRIDGE} on ${formatCidr(subnet)}, outside ${formatCidr(outside)}, table ${TABLE}`);
  });

  after(async () => {
    // Best effort and only by our names, whatever state a failure left behind.
    stopListener();
    for (const ns of [NS_A, NS_B, NS_OUT]) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    for (const l of OURS) await run('ip', ['link', 'del', 'dev', l]).catch(() => undefined);
    await run('nft', ['delete', 'table', 'inet', TABLE]).catch(() => undefined);
    await restoreIpForward(forwarding).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('bridge: created once, ensure again changes nothing, drift is fixed in place', async () => {
    let t0 = performance.now();
    const made = await ensureBridge({ name: BRIDGE, gateway, prefixLength: subnet.prefixLength });
    console.log(`# timing: ensureBridge (create) ${ms(t0)}`);
    assert.equal(made.created, true);
    t0 = performance.now();
    const again = await ensureBridge({ name: BRIDGE, gateway, prefixLength: subnet.prefixLength });
    console.log(`# timing: ensureBridge (no-op) ${ms(t0)}`);
    assert.deepEqual({ ...again, created: true }, made, 'same device, nothing changed');
    assert.deepEqual(again.changes, []);
    // Drift: address gone and link down. Fixed without re-making the device.
    await run('ip', ['addr', 'flush', 'dev', BRIDGE]);
    await run('ip', ['link', 'set', 'dev', BRIDGE, 'down']);
    const fixed = await ensureBridge({ name: BRIDGE, gateway, prefixLength: subnet.prefixLength });
    assert.equal(fixed.ifindex, made.ifindex);
    assert.deepEqual(fixed.changes, [`addr add ${gateway}/24 dev ${BRIDGE}`, `link set dev ${BRIDGE} up`]);
    const link = await showLink(BRIDGE, { context: 'test' });
    assert.equal(link?.address, made.mac, 'the bridge keeps the MAC Lodge gave it');
  });

  it('ipam: idempotent per owner, shared file, release, full, no duplicates under concurrency', async () => {
    const a = await ipam.allocate(OWNER_A);
    const b = await ipam.allocate(OWNER_B);
    ipA = a.address;
    ipB = b.address;
    assert.notEqual(ipA, ipB);
    assert.notEqual(ipA, gateway);
    assert.equal(a.gateway, gateway);
    assert.equal(a.prefixLength, 24);
    assert.deepEqual(await ipam.allocate(OWNER_A), a, 'same owner, same address');

    // A second allocator on the same file (as after an agent restart) sees the same state.
    const again = new Ipam({ file: ipam.file, subnet: formatCidr(subnet) });
    assert.equal((await again.allocate(OWNER_A)).address, ipA);
    assert.equal((await again.allocate(OWNER_B)).address, ipB);
    const c = await again.allocate('third');
    assert.ok(![ipA, ipB, gateway].includes(c.address));
    assert.equal(await again.release('third'), true);
    assert.equal(await ipam.release('third'), false, 'release is idempotent');
    const d = await ipam.allocate('fourth');
    assert.notEqual(d.address, c.address, 'a just-released address is not handed out again at once');
    await ipam.release('fourth');

    // Many at once on two objects over one file: all distinct.
    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? ipam : again).allocate(`many-${i}`)));
    const all = [...many.map((x) => x.address), ipA, ipB];
    assert.equal(new Set(all).size, all.length, 'no duplicate');
    await Promise.all(many.map((x) => ipam.release(x.owner)));
    assert.deepEqual((await ipam.list()).map((x) => x.owner).sort(), [OWNER_A, OWNER_B]);

    // Full: a /29 has 6 host addresses, one is the gateway.
    const small = new Ipam({ file: join(dir, 'small.json'), subnet: '192.0.2.0/29' });
    const got = [];
    for (let i = 0; i < 5; i++) got.push((await small.allocate(`s${i}`)).address);
    assert.deepEqual(got.sort(), ['192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6']);
    await assert.rejects(small.allocate('s5'), /192\.0\.2\.0\/29 is full.*s5/);
    await assert.rejects(new Ipam({ file: join(dir, 'small.json'), subnet: '192.0.2.8/29' }).allocate('x'), /holds allocations for subnet 192\.0\.2\.0\/29/);
  });

  it('ipam: SIGKILL mid-allocation loses nothing handed out and never duplicates', async () => {
    const file = join(dir, 'killed.json');
    const mod = new URL('../../src/agent/network/ipam.js', import.meta.url).href;
    const script = `const { Ipam } = await import(${JSON.stringify(mod)});
      const ipam = new Ipam({ file: ${JSON.stringify(file)}, subnet: '10.99.0.0/16' });
      for (let i = 0; ; i++) { const a = await ipam.allocate('k' + i); process.stdout.write(a.owner + ' ' + a.address + '\\n'); }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (c: Buffer) => {
        text += c.toString();
        // Killed while it is busy allocating, somewhere between two writes.
        if (text.split('\n').length > 30 && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    const handed = text
      .split('\n')
      .filter((l) => l.includes(' '))
      .map((l) => l.split(' ') as [string, string]);
    assert.ok(handed.length >= 30);
    const after = new Ipam({ file, subnet: '10.99.0.0/16' });
    for (const [owner, ip] of handed) assert.equal((await after.get(owner))?.address, ip, `${owner} kept ${ip}`);
    const list = await after.list();
    assert.equal(new Set(list.map((x) => x.address)).size, list.length, 'no duplicate in the file');
    const next = await after.allocate('after-kill');
    assert.ok(!list.some((x) => x.address === next.address));
    JSON.parse(await readFile(file, 'utf8'));
  });

  it('veth: two namespaces on the bridge reach each other and the gateway; attach again is a no-op', async () => {
    for (const ns of [NS_A, NS_B]) await run('ip', ['-batch', '-'], { input: `netns add ${ns}\nnetns exec ${ns} ip link set lo up\n` });
    // A by name, B by path: both forms of a netns reference.
    const specA = { owner: OWNER_A, bridge: BRIDGE, netns: NS_A, address: ipA, prefixLength: 24, gateway };
    const specB = { owner: OWNER_B, bridge: BRIDGE, netns: `/run/netns/${NS_B}`, address: ipB, prefixLength: 24, gateway, mtu: 1400 };
    let t0 = performance.now();
    const a = await attachNetns(specA);
    console.log(`# timing: attachNetns (create) ${ms(t0)}`);
    t0 = performance.now();
    const b = await attachNetns(specB);
    console.log(`# timing: attachNetns (create, by path, mtu) ${ms(t0)}`);
    assert.equal(a.created, true);
    assert.equal(a.hostIfname, vethHostName(OWNER_A));
    assert.ok(a.hostIfname.length <= 15);
    assert.equal(a.mac, macFromOwner(OWNER_A));

    const hostA = await showLink(a.hostIfname, { context: 'test' });
    assert.equal(hostA?.master, BRIDGE);
    assert.equal(hostA?.ifindex, a.hostIfindex);
    const inB = await showLink('eth0', { netns: NS_B, context: 'test' });
    assert.equal(inB?.mtu, 1400);
    assert.equal(inB?.address, b.mac);

    await ping(NS_A, ipB);
    await ping(NS_B, ipA);
    await ping(NS_A, gateway);

    // TCP between them: B listens and answers "pong" to whoever connects.
    listener = spawn('ip', ['netns', 'exec', NS_B, 'busybox', 'nc', '-l', '-p', '5555', '-e', 'busybox', 'echo', 'pong'], { stdio: 'ignore' });
    let reply = '';
    for (let i = 0; i < 50 && !reply.includes('pong'); i++) {
      reply = await ipIn(NS_A, ['busybox', 'nc', ipB, '5555']).catch(() => '');
      if (!reply) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(reply.trim(), 'pong');

    t0 = performance.now();
    const a2 = await attachNetns(specA);
    console.log(`# timing: attachNetns (no-op) ${ms(t0)}`);
    assert.deepEqual(a2, { ...a, created: false, changes: [] }, 'same pair, nothing changed');
    assert.deepEqual(await attachNetns(specB), { ...b, created: false, changes: [] });

    // Drift inside the namespace (route lost, address changed by hand): fixed in place, same interfaces.
    await ipIn(NS_A, ['ip', 'route', 'del', 'default']);
    const fixed = await attachNetns(specA);
    assert.equal(fixed.ifindex, a.ifindex);
    assert.equal(fixed.hostIfindex, a.hostIfindex);
    assert.deepEqual(fixed.changes, [`netns: route replace default via ${gateway} dev eth0`]);
    await ping(NS_A, gateway);
  });

  it('tap: created on the bridge, ensure again is a no-op, QEMU args, removed', async () => {
    let t0 = performance.now();
    const tap = await ensureTap({ owner: OWNER_VM, bridge: BRIDGE });
    console.log(`# timing: ensureTap (create) ${ms(t0)}`);
    assert.equal(tap.name, tapName(OWNER_VM));
    assert.match(tap.name, /^lt[0-9a-f]{8}$/);
    const link = await showLink(tap.name, { context: 'test' });
    assert.equal(link?.master, BRIDGE);
    assert.ok(link?.flags.includes('UP'));
    assert.equal(link?.linkinfo?.info_kind, 'tun');
    assert.notEqual(link?.address, tap.guestMac, "the tap's own MAC differs from the guest's");
    assert.deepEqual(await ensureTap({ owner: OWNER_VM, bridge: BRIDGE }), { ...tap, created: false });
    assert.deepEqual(await tapOwnersOn(BRIDGE), [OWNER_VM], "the orphan sweep finds the tap's owner on its bridge");
    assert.deepEqual(qemuNicArgs(tap), [
      '-netdev',
      `tap,id=net0,ifname=${tap.name},script=no,downscript=no,vhost=off`,
      '-device',
      `virtio-net-pci,netdev=net0,mac=${macFromOwner(OWNER_VM)}`,
    ]);
    assert.throws(() => qemuNicArgs(tap, { queues: 4 }), /multi_queue/);

    const mq = await ensureTap({ owner: OWNER_VM_MQ, bridge: BRIDGE, multiQueue: true });
    assert.deepEqual(qemuNicArgs(mq, { queues: 4, model: 'virtio-net-pci' }).slice(1, 4), [
      `tap,id=net0,ifname=${mq.name},script=no,downscript=no,vhost=off,queues=4`,
      '-device',
      `virtio-net-pci,netdev=net0,mac=${mq.guestMac},mq=on,vectors=10`,
    ]);
    await assert.rejects(ensureTap({ owner: OWNER_VM_MQ, bridge: BRIDGE }), /multi_queue on, wanted off/);

    t0 = performance.now();
    assert.equal(await removeTap(OWNER_VM), true);
    console.log(`# timing: removeTap ${ms(t0)}`);
    assert.equal(await removeTap(OWNER_VM), false);
    assert.equal(await removeTap(OWNER_VM_MQ), true);
    assert.equal(await showLink(tap.name, { context: 'test' }), null);
  });

  it('nat: masquerades to the outside only once applied; applied twice is unchanged; drift in one chain fixed alone', async () => {
    // "Outside": a namespace on a routed link of the host, with no route back to the pod subnet.
    const o = formatCidr(outside).split('.').slice(0, 3).join('.');
    const outsideIp = `${o}.2`;
    await run('ip', ['-batch', '-'], {
      input: [
        `netns add ${NS_OUT}`,
        `link add ${OUT_HOST} type veth peer name eth0 netns ${NS_OUT}`,
        `addr add ${o}.1/24 dev ${OUT_HOST}`,
        `link set dev ${OUT_HOST} up`,
        `netns exec ${NS_OUT} ip addr add ${outsideIp}/24 dev eth0`,
        `netns exec ${NS_OUT} ip link set eth0 up`,
        '',
      ].join('\n'),
    });
    await enableIpForward(forwarding);
    assert.equal((await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim(), '1');
    // Forwarded but not translated: the outside cannot answer a pod address.
    assert.ok(await pingFails(NS_A, outsideIp), 'no reply without masquerade');

    const spec = { table: TABLE, clusterCidr: formatCidr(subnet), bridge: BRIDGE, ipForward: {} };
    let t0 = performance.now();
    const first = await ensureNat(spec);
    console.log(`# timing: ensureNat (create, nft -f) ${ms(t0)}`);
    assert.equal(first.changed, true);
    await ping(NS_A, outsideIp);
    await ping(NS_B, outsideIp);

    const listed = await run('nft', ['-j', 'list', 'table', 'inet', TABLE]);
    t0 = performance.now();
    const second = await ensureNat(spec);
    console.log(`# timing: ensureNat (no-op) ${ms(t0)}`);
    assert.deepEqual(second, { changed: false, script: '', forwardingEnabled: false });
    assert.equal(await run('nft', ['-j', 'list', 'table', 'inet', TABLE]), listed, 'table untouched (same handles)');

    // Someone deletes a forward rule: only the forward chain is rewritten, the masquerade rule keeps its handle.
    type Obj = { rule?: { chain: string; handle: number; comment?: string } };
    const rules = (JSON.parse(listed) as { nftables: Obj[] }).nftables.flatMap((x) => (x.rule ? [x.rule] : []));
    const fwd = rules.find((r) => r.chain === 'forward')!;
    const masq = rules.find((r) => r.chain === 'postrouting')!;
    await run('nft', ['delete', 'rule', 'inet', TABLE, 'forward', 'handle', String(fwd.handle)]);
    const fixed = await ensureNat(spec);
    assert.equal(fixed.changed, true);
    assert.match(fixed.script, /flush chain inet \S+ forward/);
    assert.doesNotMatch(fixed.script, /postrouting/);
    const relisted = (JSON.parse(await run('nft', ['-j', 'list', 'table', 'inet', TABLE])) as { nftables: Obj[] }).nftables.flatMap((x) => (x.rule ? [x.rule] : []));
    assert.equal(relisted.find((r) => r.chain === 'postrouting')?.handle, masq.handle);
    assert.equal(relisted.filter((r) => r.chain === 'forward').length, 2);
    assert.equal((await ensureNat(spec)).changed, false);
  });

  it('removing everything leaves the host network as it was', async () => {
    assert.equal(await detachNetns(OWNER_A), true);
    assert.equal(await detachNetns(OWNER_A), false, 'detach is idempotent');
    // B's namespace goes first: the kernel removes its pair (asynchronously: detach may still find it), and detach still succeeds.
    await run('ip', ['netns', 'del', NS_B]);
    await detachNetns(OWNER_B);
    assert.equal(await detachNetns(OWNER_B), false);
    let t0 = performance.now();
    assert.equal(await removeBridge(BRIDGE), true);
    console.log(`# timing: removeBridge ${ms(t0)}`);
    assert.equal(await removeBridge(BRIDGE), false);
    t0 = performance.now();
    assert.equal(await removeNat(TABLE, { ipForward: {} }), true);
    console.log(`# timing: removeNat ${ms(t0)}`);
    assert.equal(await removeNat(TABLE, { ipForward: {} }), false);
    assert.ok(!(await ipForwardHolders()).includes(forwardHolder(TABLE)));
    stopListener();
    await run('ip', ['link', 'del', 'dev', OUT_HOST]);
    for (const ns of [NS_A, NS_OUT]) await run('ip', ['netns', 'del', ns]);
    assert.deepEqual(await ipam.release(OWNER_A), true);
    assert.deepEqual(await ipam.release(OWNER_B), true);

    const now = await captureHostNetwork(snapshotFilter);
    // Another Lodge network on this host (a parallel test) may rightly still hold forwarding on; otherwise it must be back.
    const others = await ipForwardHolders();
    const diff = diffHostNetwork(snapshot, now).filter((d) => !(others.length && d.startsWith('ip_forward:')));
    assert.deepEqual(diff, []);
  });
});
