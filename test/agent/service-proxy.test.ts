// The Service proxy's nftables programming on the real host, in a table and
// on a bridge of its own (service-lab.ts): a VIP spread over two backends in
// network namespaces, a Pod reaching itself through its VIP (hairpin),
// ClientIP affinity, a refused connection when no endpoint is ready,
// NodePort from the host (127.0.0.1 and the bridge's address), an Instance
// forward, one endpoint change as a small diff, a restart that reads the
// table back and changes nothing, and the host as it was after removal.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, describe, it, test } from 'node:test';
import type { KubeObject } from '../../src/apis/types.js';
import { run } from '../../src/agent/images/run.js';
import { ensureNat } from '../../src/agent/network/nat.js';
import { desiredRuleset } from '../../src/agent/network/service-proxy/desired-state.js';
import { endpointChain, serviceChain } from '../../src/agent/network/service-proxy/names.js';
import { ensureTap, removeTap } from '../../src/agent/network/tap.js';
import { attachNetns, vethHostName } from '../../src/agent/network/veth.js';
import { enableRouteLocalnet } from '../../src/agent/network/service-proxy/route-localnet.js';
import { TableProgrammer } from '../../src/agent/network/service-proxy/table-programmer.js';
import { captureHostNetwork, diffHostNetwork, type HostNetworkSnapshot } from './host-snapshot.js';
import { bodyOf, ServiceLab } from './service-lab.js';

const root = process.getuid?.() === 0;
const TAG = `sp${process.pid}`;
const LODGE_LIKE = /^(lv|lt|lx|lodge)/;

interface SvcOpts {
  ip: string;
  port?: number;
  type?: string;
  nodePort?: number;
  affinity?: number;
  headless?: boolean;
}
function service(name: string, o: SvcOpts): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: {
      type: o.type ?? 'ClusterIP',
      clusterIP: o.headless ? 'None' : o.ip,
      ports: [{ name: 'http', port: o.port ?? 80, protocol: 'TCP', targetPort: 8080, ...(o.nodePort ? { nodePort: o.nodePort } : {}) }],
      ...(o.affinity ? { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: o.affinity } } } : {}),
    },
  };
}
function slice(svc: string, eps: Array<{ ip: string; ready?: boolean }>): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: eps.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true } })),
  } as unknown as KubeObject;
}
function instance(name: string, ip: string | undefined, forwards: Array<{ hostIP?: string; hostPort: number; port: number }>): KubeObject {
  return { apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name, namespace: 'default' }, spec: { forwards }, status: { ip } };
}

test('desired state: headless and endpoint-less Services, ready only, a forward on a taken port', () => {
  const { ruleset, conflicts } = desiredRuleset({
    services: [service('web', { ip: '10.96.0.10', type: 'NodePort', nodePort: 30080 }), service('hl', { ip: '', headless: true }), service('empty', { ip: '10.96.0.11' })],
    endpointSlices: [slice('web', [{ ip: '10.1.0.2' }, { ip: '10.1.0.3', ready: false }]), slice('hl', [{ ip: '10.1.0.4' }])],
    instances: [instance('vm', '10.1.0.5', [{ hostPort: 30080, port: 80 }, { hostPort: 2222, port: 22 }])],
    bridge: 'br0',
  });
  const svc = serviceChain('default/web/tcp/http');
  assert.equal(ruleset.maps.get('svc-ips')!.get('10.96.0.10 . tcp . 80'), `goto ${svc}`);
  assert.equal(ruleset.maps.get('svc-local-ports')!.get('tcp . 30080'), `goto ${svc}`);
  // No affinity: the DNAT is in the Service port's chain, no per-endpoint chain; the not-ready endpoint is left out.
  assert.deepEqual(ruleset.chains.get(svc)!.rules, ['jump svc-mark-masq', 'meta l4proto tcp dnat ip to 10.1.0.2:8080']);
  assert.ok(![...ruleset.chains.keys()].some((c) => c.startsWith('ep-')), 'no endpoint chains without affinity');
  assert.ok(![...ruleset.chains.keys()].some((c) => c.includes('/hl/')), 'headless: no rules');
  assert.deepEqual([...ruleset.sets.get('noep-ips')!], ['10.96.0.11 . tcp . 80']);
  assert.match(conflicts.join(), /tcp \. 30080 \(instance default\/vm forward\)/);
  assert.ok(ruleset.maps.get('svc-local-ports')!.get('tcp . 2222')!.startsWith('goto fwd-'));
});

test('desired state: several endpoints are one DNAT map; ClientIP affinity keeps a chain and a set per endpoint', () => {
  const { ruleset } = desiredRuleset({
    services: [service('web', { ip: '10.96.0.10' }), service('sticky', { ip: '10.96.0.11', affinity: 60 })],
    endpointSlices: [slice('web', [{ ip: '10.1.0.3' }, { ip: '10.1.0.2' }]), slice('sticky', [{ ip: '10.1.0.2' }, { ip: '10.1.0.3' }])],
    instances: [],
    bridge: 'br0',
  });
  assert.deepEqual(ruleset.chains.get(serviceChain('default/web/tcp/http'))!.rules, [
    'jump svc-mark-masq',
    'meta l4proto tcp dnat ip to numgen random mod 2 map { 0 : 10.1.0.2 . 8080, 1 : 10.1.0.3 . 8080 }',
  ]);
  const sticky = 'default/sticky/tcp/http';
  for (const ip of ['10.1.0.2', '10.1.0.3']) assert.ok(ruleset.chains.has(endpointChain(sticky, ip, 8080)), `affinity chain for ${ip}`);
  assert.equal(ruleset.affinity.size, 2);
  assert.equal([...ruleset.chains.keys()].filter((c) => c.startsWith('ep-')).length, 2, 'endpoint chains for the sticky Service only');
});

test('desired state: a Service is recomputed when it or its EndpointSlices are new objects, and only then', () => {
  const svc = service('web', { ip: '10.96.0.10' });
  const a = slice('web', [{ ip: '10.1.0.2' }]);
  const chain = (s: KubeObject, v = svc) => desiredRuleset({ services: [v], endpointSlices: [s], instances: [], bridge: 'br0' }).ruleset.chains.get(serviceChain('default/web/tcp/http'))!;
  const first = chain(a);
  assert.equal(chain(a), first, 'same objects: the remembered chain');
  assert.deepEqual(chain(slice('web', [{ ip: '10.1.0.3' }])).rules, ['jump svc-mark-masq', 'meta l4proto tcp dnat ip to 10.1.0.3:8080'], 'a new EndpointSlice');
  const moved = service('web', { ip: '10.96.0.10', port: 81 });
  const r = desiredRuleset({ services: [moved], endpointSlices: [a], instances: [], bridge: 'br0' }).ruleset;
  assert.deepEqual([...r.maps.get('svc-ips')!.keys()], ['10.96.0.10 . tcp . 81'], 'a new Service object');
});

describe('service proxy on real nftables', { skip: !root && 'needs root' }, () => {
  let lab: ServiceLab;
  let snapshot: HostNetworkSnapshot;
  let programmer: TableProgrammer;
  let nodePort = 0;
  let fwdPort = 0;
  const names = new Set<string>();
  const snapshotFilter = {
    ignoreLink: (n: string) => LODGE_LIKE.test(n) && !names.has(n),
    ignoreTable: (n: string) => n.startsWith('lodge') && n !== `lodge-lab-${TAG}`,
  };
  let objects: { services: KubeObject[]; endpointSlices: KubeObject[]; instances: KubeObject[] };
  /** Applied, and its removals done (what a later assertion on the table expects). */
  const sync = async () => {
    const r = await programmer.sync(desiredRuleset({ ...objects, bridge: lab.bridge }).ruleset);
    await r.retired;
    return r;
  };

  before(async () => {
    snapshot = await captureHostNetwork(snapshotFilter);
    lab = await ServiceLab.create({ tag: TAG, backends: 2, clients: 1 });
    names.add(lab.bridge);
    await enableRouteLocalnet(lab.bridge);
    programmer = new TableProgrammer(lab.table);
    [nodePort, fwdPort] = await Promise.all([freePort(), freePort()]);
    await lab.serversUp();
    const a = lab.backends[0]!;
    const b = lab.backends[1]!;
    objects = {
      services: [
        service('web', { ip: lab.vip(10), type: 'NodePort', nodePort }),
        service('sticky', { ip: lab.vip(11), affinity: 60 }),
        service('self', { ip: lab.vip(12) }),
        service('empty', { ip: lab.vip(13) }),
      ],
      endpointSlices: [slice('web', [a, b]), slice('sticky', [a, b]), slice('self', [a]), slice('empty', [{ ip: b.ip, ready: false }])],
      instances: [instance('sys', b.ip, [{ hostPort: fwdPort, port: 8080 }])],
    };
  });

  after(async () => {
    await lab?.destroy();
    if (snapshot) assert.deepEqual(diffHostNetwork(snapshot, await captureHostNetwork(snapshotFilter)), [], 'host network as before');
  });

  it('programs a VIP that spreads over both backends', async () => {
    const r = await sync();
    assert.equal(r.readBack, true);
    assert.ok(r.stats.chainsAdded > 0);
    // NAT's own reconcile sees its chains unchanged beside the proxy's.
    assert.equal((await ensureNat({ table: lab.table, clusterCidr: lab.subnet, bridge: lab.bridge })).changed, false);
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) seen.add(await lab.get(lab.clients[0]!.ns, lab.vip(10), 80));
    assert.deepEqual([...seen].sort(), ['backend-0', 'backend-1']);
  });

  it('a backend reaches itself through its VIP (hairpin)', async () => {
    // attachNetns put the port in hairpin mode when it made it (needed where br_netfilter bridges the DNATed packet back to its own port).
    const port = `/sys/class/net/${lab.bridge}/brif`;
    for (const b of lab.backends) assert.equal(readFileSync(`${port}/${vethHostName(b.owner)}/hairpin_mode`, 'utf8').trim(), '1');
    assert.equal(await lab.get(lab.backends[0]!.ns, lab.vip(12), 80), 'backend-0');
  });

  it('hairpin mode: set when a veth or tap port is made, restored by their reconcile', async () => {
    const brif = `/sys/class/net/${lab.bridge}/brif`;
    const hairpin = (port: string) => readFileSync(`${brif}/${port}/hairpin_mode`, 'utf8').trim();
    // A port as an older Lodge left it: hairpin off. Attaching again (the agent's reconcile) turns it back on, and only that.
    const b = lab.backends[0]!;
    const host = vethHostName(b.owner);
    writeFileSync(`${brif}/${host}/hairpin_mode`, '0\n');
    const again = await attachNetns({ owner: b.owner, bridge: lab.bridge, netns: b.ns, address: b.ip, prefixLength: 24, gateway: lab.gateway });
    assert.deepEqual(again.changes, [`link set dev ${host} type bridge_slave hairpin on`]);
    assert.equal(hairpin(host), '1');
    // A VM's tap, made on the lab bridge and removed here.
    const owner = `svclab-${TAG}-tap`;
    try {
      const tap = await ensureTap({ owner, bridge: lab.bridge });
      names.add(tap.name);
      assert.equal(tap.created, true);
      assert.equal(hairpin(tap.name), '1');
      writeFileSync(`${brif}/${tap.name}/hairpin_mode`, '0\n');
      assert.deepEqual((await ensureTap({ owner, bridge: lab.bridge })).changes, [`link set dev ${tap.name} type bridge_slave hairpin on`]);
      assert.equal(hairpin(tap.name), '1');
      assert.deepEqual((await ensureTap({ owner, bridge: lab.bridge })).changes, [], 'nothing left to fix');
    } finally {
      await removeTap(owner);
    }
  });

  it('ClientIP affinity keeps a client on one backend', async () => {
    const got = new Set<string>();
    for (let i = 0; i < 12; i++) got.add(await lab.get(lab.clients[0]!.ns, lab.vip(11), 80));
    assert.equal(got.size, 1, `one backend, got ${[...got].join(', ')}`);
  });

  it('a Service with no ready endpoint refuses the connection', async () => {
    await assert.rejects(lab.get(lab.clients[0]!.ns, lab.vip(13), 80), /refused/i);
  });

  it('NodePort from the host: 127.0.0.1 and the bridge address; an Instance forward likewise', async () => {
    assert.match(await hostGet('127.0.0.1', nodePort), /^backend-[01]$/);
    assert.match(await hostGet(lab.gateway, nodePort), /^backend-[01]$/);
    assert.equal(await hostGet('127.0.0.1', fwdPort), 'backend-1');
    assert.equal(await lab.get(lab.clients[0]!.ns, lab.gateway, fwdPort), 'backend-1');
  });

  it('one endpoint change is a small diff; an open connection survives it', async () => {
    const held = await openConnection(lab, lab.vip(10));
    try {
      objects.endpointSlices[0] = slice('web', [lab.backends[0]!]);
      const web = serviceChain('default/web/tcp/http');
      const r = await programmer.sync(desiredRuleset({ ...objects, bridge: lab.bridge }).ruleset);
      assert.equal(r.readBack, false);
      // The Service port's chain gets its new rules inserted ahead of the old ones (only additions: in effect at once) …
      assert.deepEqual(r.stats, { chainsAdded: 0, chainsChanged: 1, chainsDeleted: 0, elementsAdded: 0, elementsDeleted: 0 });
      assert.equal(r.lines, 3, 'add table + two inserted rules');
      assert.equal(r.retireLines, 3, 'flush, and the two rules again');
      // … and the old ones, shadowed meanwhile, go in the second transaction.
      await r.retired;
      assert.deepEqual(await chainRules(lab.table, web), ['jump svc-mark-masq', `meta l4proto tcp dnat ip to ${lab.backends[0]!.ip}:8080`]);
      for (let i = 0; i < 8; i++) assert.equal(await lab.get(lab.clients[0]!.ns, lab.vip(10), 80), 'backend-0');
      assert.match(await held.finish(), /^backend-[01]$/, 'the connection opened before the change still completes');
    } finally {
      held.close();
    }
  });

  it('a restarted proxy reads the table back and changes nothing; drift is repaired', async () => {
    const handles = await chainHandles(lab.table);
    const again = new TableProgrammer(lab.table);
    const r = await again.sync(desiredRuleset({ ...objects, bridge: lab.bridge }).ruleset);
    assert.equal(r.readBack, true);
    assert.equal(r.lines, 0);
    assert.deepEqual(await chainHandles(lab.table), handles, 'same chains, same handles');
    // Someone deletes a map element by hand: the next read-back puts it back and nothing else.
    await run('nft', ['delete', 'element', 'inet', lab.table, 'svc-ips', `{ ${lab.vip(10)} . tcp . 80 }`]);
    const fixed = await new TableProgrammer(lab.table).sync(desiredRuleset({ ...objects, bridge: lab.bridge }).ruleset);
    assert.deepEqual(fixed.stats, { chainsAdded: 0, chainsChanged: 0, chainsDeleted: 0, elementsAdded: 1, elementsDeleted: 0 });
    assert.equal(await lab.get(lab.clients[0]!.ns, lab.vip(10), 80), 'backend-0');
  });

  it('a table in an older shape (a chain per endpoint) is converted in place, the VIP answering throughout', async () => {
    // What an older proxy wrote for "web": its Service chain jumping to per-endpoint DNAT chains.
    const t = `inet ${lab.table}`;
    const svc = serviceChain('default/web/tcp/http');
    const ep = endpointChain('default/web/tcp/http', lab.backends[1]!.ip, 8080);
    const old = [`add chain ${t} ${ep}`, `add rule ${t} ${ep} meta l4proto tcp dnat ip to ${lab.backends[1]!.ip}:8080`, `flush chain ${t} ${svc}`, `add rule ${t} ${svc} jump svc-mark-masq`, `add rule ${t} ${svc} goto ${ep}`];
    await run('nft', ['-f', '-'], { input: old.join('\n') + '\n' });
    assert.equal(await lab.get(lab.clients[0]!.ns, lab.vip(10), 80), 'backend-1', 'the old shape in effect');
    const r = await new TableProgrammer(lab.table).sync(desiredRuleset({ ...objects, bridge: lab.bridge }).ruleset);
    assert.equal(r.readBack, true);
    assert.deepEqual(r.stats, { chainsAdded: 0, chainsChanged: 1, chainsDeleted: 1, elementsAdded: 0, elementsDeleted: 0 });
    // In effect at once (the removal of the old rules and the endpoint chain may still be running).
    assert.equal(await lab.get(lab.clients[0]!.ns, lab.vip(10), 80), 'backend-0');
    await r.retired;
    assert.ok(!(ep in (await chainHandles(lab.table))), 'endpoint chain removed');
    assert.deepEqual(await chainRules(lab.table, svc), ['jump svc-mark-masq', `meta l4proto tcp dnat ip to ${lab.backends[0]!.ip}:8080`]);
    assert.equal(await lab.get(lab.clients[0]!.ns, lab.vip(10), 80), 'backend-0');
  });

  it('removing every Service leaves only the fixed chains', async () => {
    objects = { services: [], endpointSlices: [], instances: [] };
    await sync();
    const chains = Object.keys(await chainHandles(lab.table)).filter((c) => /^(svc|ep|fwd)-[A-Z0-9]{8}-/.test(c));
    assert.deepEqual(chains, []);
    assert.equal(readFileSync(`/proc/sys/net/ipv4/conf/${lab.bridge}/route_localnet`, 'utf8').trim(), '1');
  });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function hostGet(ip: string, port: number): Promise<string> {
  return bodyOf(await run('busybox', ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 ${ip} ${port}`]));
}

/** A chain's rule texts as nft lists them, without their comments. */
async function chainRules(table: string, chain: string): Promise<string[]> {
  const out = await run('nft', ['list', 'chain', 'inet', table, chain]);
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(table|chain) |^}$/.test(l))
    .map((l) => l.replace(/ comment "[^"]*"$/, ''));
}

async function chainHandles(table: string): Promise<Record<string, number>> {
  const out = JSON.parse(await run('nft', ['-j', 'list', 'table', 'inet', table])) as { nftables: Array<{ chain?: { name: string; handle: number } }> };
  return Object.fromEntries(out.nftables.filter((o) => o.chain).map((o) => [o.chain!.name, o.chain!.handle]));
}

/** A TCP connection through the VIP, opened now and used later (by nc in the client namespace reading its request from a fifo). */
async function openConnection(lab: ServiceLab, vip: string): Promise<{ finish(): Promise<string>; close(): void }> {
  const { spawn } = await import('node:child_process');
  const p = spawn('ip', ['netns', 'exec', lab.clients[0]!.ns, 'busybox', 'nc', '-w', '5', vip, '80'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // Established once conntrack has it: wait for the entry rather than a fixed time.
  for (let i = 0; i < 100; i++) {
    const ct = await run('ip', ['netns', 'exec', lab.clients[0]!.ns, 'ss', '-Htn', 'state', 'established', `dst ${vip}`]).catch(() => '');
    if (ct.trim()) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  return {
    finish: async () => {
      p.stdin.end('GET / HTTP/1.0\r\n\r\n');
      await exited;
      return bodyOf(out);
    },
    close: () => {
      if (p.exitCode === null && p.signalCode === null) p.kill();
    },
  };
}
