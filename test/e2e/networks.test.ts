// Networks against a real `lodge up`: the default (Pod) network as an object,
// `lodge network create|ls|show|rm` making and removing a bridge and its NAT
// table on the node, validation, and a system container on two networks
// (eth0 on the default one, eth1 on a user network), reachable on both, with
// the network's deletion refused while it is used. Only addresses on bridges
// this lodge made are contacted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { describe, test } from 'node:test';
import { lodgeCli, parseTable, runKubectl, waitFor } from './harness.js';
import { useWorkloadLodge } from './workload-lodge.js';

const NODE = `lodge-nets-${process.pid}`;
const w = useWorkloadLodge('lodge-nets-', NODE, {
  // Instances go first (the afterwards hooks delete them); the network once nothing uses it.
  beforeStop: async (l) => {
    await w.instances.deleteAll();
    lodgeCli(l, ['network', 'rm', 'lab']);
    await waitFor('lab bridge removed', async () => !existsSync(`/sys/class/net/${labBridge}`), 20_000).catch(() => undefined);
  },
  // Whatever a failed test left behind: ours by name.
  afterStop: () => {
    if (existsSync(`/sys/class/net/${labBridge}`)) spawnSync('ip', ['link', 'del', labBridge]);
    if (hasTable(labTable)) spawnSync('nft', ['delete', 'table', 'inet', labTable]);
  },
});
const net = w.net;
/** A /24 of this lodge's own /16, away from the node's podCIDR (its first /24). */
const labSubnet = net.clusterCidr.replace(/\.0\.0\/16$/, '.200.0/24');
const labGateway = labSubnet.replace(/\.0\/24$/, '.1');
const labBridge = `lt${process.pid}lab`;
const labTable = `${net.natTable}-net-lab`;

const cli = (...args: string[]): string => {
  const r = lodgeCli(w.lodge, args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `lodge ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};
const ip = (...args: string[]): string => spawnSync('ip', args, { encoding: 'utf8' }).stdout;
/** The body of GET / from the address, or undefined when it cannot be had yet. */
const httpGet = (host: string, port: number): Promise<string | undefined> =>
  new Promise((res) => {
    const req = get({ host, port, path: '/', timeout: 2000 }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => (body += d));
      r.on('end', () => res(r.statusCode === 200 ? body : undefined));
    });
    req.on('error', () => res(undefined));
    req.on('timeout', () => req.destroy());
  });
const hasTable = (t: string): boolean => spawnSync('nft', ['list', 'table', 'inet', t], { encoding: 'utf8' }).status === 0;

describe('networks', () => {
  test('the Pod network is the "default" Network, reported by the node', async () => {
    const n = await waitFor('default network reported', async () => {
      const r = runKubectl(w.lodge, ['get', 'network', 'default', '-o', 'json']);
      const o = r.code === 0 ? JSON.parse(r.stdout) : undefined;
      return o?.status?.nodes?.[0]?.ready ? o : undefined;
    });
    assert.equal(n.spec.subnet, net.clusterCidr);
    assert.equal(n.spec.perNode, true);
    assert.equal(n.status.nodes[0].bridge, net.bridge);
    assert.equal(n.status.nodes[0].subnet, net.clusterCidr.replace('/16', '/24'));
    const ls = parseTable(cli('network', 'ls'));
    assert.equal(ls.rows[0]?.NAME, 'default');
    assert.equal(ls.rows[0]?.READY, '1/1');
    // The Pod network cannot go.
    const rm = lodgeCli(w.lodge, ['network', 'rm', 'default']);
    assert.notEqual(rm.code, 0);
  });

  test('bad input is refused naming the field; a network cannot change its subnet', () => {
    const bad = lodgeCli(w.lodge, ['network', 'create', 'bad', '--subnet', '10.1.2.3/24', '--no-wait']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /spec\.subnet/);
    assert.match(bad.stderr, /zero host part/);
    const tooLong = lodgeCli(w.lodge, ['network', 'create', 'bad', '--subnet', '10.1.2.0/24', '--bridge', 'a-very-long-bridge-name', '--no-wait']);
    assert.notEqual(tooLong.code, 0);
    assert.match(tooLong.stderr, /spec\.bridge/);
  });

  test('lodge network create makes the bridge with its gateway and a NAT table; show and kubectl get report it', () => {
    const out = cli('network', 'create', 'lab', '--subnet', labSubnet, '--bridge', labBridge, '--description', 'test lab');
    assert.match(out, new RegExp(`${NODE}: bridge ${labBridge}, gateway ${labGateway.replace(/\./g, '\\.')}`));
    assert.match(ip('-br', 'addr', 'show', 'dev', labBridge), new RegExp(`${labGateway.replace(/\./g, '\\.')}/24`));
    assert.ok(hasTable(labTable), `nft table ${labTable}`);
    assert.match(cli('network', 'show', 'lab'), /ready/);
    const r = runKubectl(w.lodge, ['get', 'networks']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /lab\s+bridge\s+/);
    const change = runKubectl(w.lodge, ['patch', 'network', 'lab', '--type=merge', '-p', '{"spec":{"subnet":"10.1.0.0/24"}}']);
    assert.notEqual(change.code, 0);
    assert.match(change.stderr, /may not change/);
  });

  test('a system container on two networks has an address on each, reachable from the host bridges', async () => {
    cli('launch', 'busybox', 'multi', '--network', 'default', '--network', 'lab', '--timeout', '2m');
    const i = await waitFor('two interfaces reported', async () => {
      const r = runKubectl(w.lodge, ['get', 'instance', 'multi', '-o', 'json']);
      const o = r.code === 0 ? JSON.parse(r.stdout) : undefined;
      return o?.status?.interfaces?.length === 2 ? o : undefined;
    });
    const [eth0, eth1] = i.status.interfaces;
    assert.equal(eth0.name, 'eth0');
    assert.equal(eth0.network, 'default');
    assert.equal(eth1.name, 'eth1');
    assert.equal(eth1.network, 'lab');
    assert.ok(eth1.ips[0].startsWith(labSubnet.replace(/\.0\/24$/, '.')), `eth1 ${eth1.ips[0]} in ${labSubnet}`);
    assert.equal(i.status.ip, eth0.ips[0]);
    // Inside: both addresses, the default route through eth0 only.
    const addrs = cli('exec', 'instance/multi', '--', 'ip', '-4', '-o', 'addr');
    assert.match(addrs, new RegExp(`eth1\\s+inet ${eth1.ips[0].replace(/\./g, '\\.')}/24`));
    assert.match(cli('exec', 'instance/multi', '--', 'ip', 'route'), /default via \S+ dev eth0/);
    // The host reaches it on both bridges (each address only through its own bridge: the routes are the bridges').
    cli('exec', 'instance/multi', '--', 'sh', '-c', 'mkdir -p /www && echo hello-multi > /www/index.html && httpd -p 8080 -h /www');
    for (const a of [eth0.ips[0], eth1.ips[0]]) assert.equal((await waitFor(`GET ${a}:8080`, () => httpGet(a, 8080))).trim(), 'hello-multi');
    // In use: refused, naming the instance.
    const rm = lodgeCli(w.lodge, ['network', 'rm', 'lab']);
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /instance default\/multi/);
  });

  test('deleting the instance releases its addresses; deleting the network removes its bridge and table', async () => {
    cli('delete', 'instance', 'multi');
    await waitFor('instance gone', async () => runKubectl(w.lodge, ['get', 'instance', 'multi']).code !== 0, 60_000);
    cli('network', 'rm', 'lab');
    await waitFor('bridge removed', async () => !existsSync(`/sys/class/net/${labBridge}`), 20_000);
    await waitFor('table removed', async () => !hasTable(labTable), 20_000);
  });
});
