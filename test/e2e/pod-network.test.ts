// Pods and system containers on the node's bridge, against a real `lodge up`
// with its own bridge, nft table and cluster CIDR (harness: testNetwork): two
// Pods get distinct addresses in the node's podCIDR and talk over TCP, reach
// the gateway, keep their addresses across a SIGKILL of lodge, give them back
// when deleted; a system container Instance gets one too and reaches a Pod.
// Only addresses inside namespaces this lodge made are contacted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { lodgeCli, parseTable, runKubectl, waitFor } from './harness.js';
import { useWorkloadLodge } from './workload-lodge.js';

const NODE = `lodge-net-${process.pid}`;
const w = useWorkloadLodge('lodge-net-', NODE, {
  afterStop: () => assert.ok(!existsSync(`/sys/class/net/${w.net.bridge}`), `bridge ${w.net.bridge} removed`),
});
const { pods, instances, dataDir, net } = w;

const running = (p: any): boolean => p?.status?.phase === 'Running' && !!p.status.podIP;
const server = { name: 'c', image: 'busybox', command: ['sh', '-c', 'mkdir -p /www && echo hello-from-a > /www/index.html && exec httpd -f -p 8080 -h /www'] };
/** An HTTP GET with busybox nc: the static busybox's wget segfaults (glibc NSS in a static binary), nc does not resolve anything. */
const get = (ip: string): string[] => ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} 8080`];
const client = { name: 'c', image: 'busybox', command: ['sleep', '3600'] };

function exec(pod: string, cmd: string[]): string {
  const r = runKubectl(w.lodge, ['exec', pod, '--', ...cmd], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `${r.command}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The Pod's podIP is in the node's podCIDR, and eth0 inside carries it. */
function inCidr(ip: string, cidr: string): boolean {
  const num = (a: string): number => a.split('.').reduce((x, p) => x * 256 + Number(p), 0);
  const [base, len] = cidr.split('/');
  const size = 2 ** (32 - Number(len));
  return Math.floor(num(ip) / size) === Math.floor(num(base!) / size);
}

describe('pod network', () => {
  let podCIDR = '';
  let ipA = '';
  let ipB = '';

  test('the Node gets a /24 of the cluster CIDR; two Pods get distinct addresses in it and talk over TCP', async () => {
    const node = await waitFor('podCIDR', async () => {
      const r = runKubectl(w.lodge, ['get', 'node', NODE, '-o', 'json']);
      const n = r.code === 0 ? JSON.parse(r.stdout) : undefined;
      return n?.spec?.podCIDR ? n : undefined;
    });
    podCIDR = node.spec.podCIDR;
    assert.equal(podCIDR, net.clusterCidr.replace('/16', '/24'));
    assert.deepEqual(node.spec.podCIDRs, [podCIDR]);
    await pods.create('a', { containers: [server] });
    await pods.create('b', { containers: [client] });
    const a = await pods.waitFor('a', 'running with an IP', running);
    const b = await pods.waitFor('b', 'running with an IP', running);
    ipA = a.status.podIP;
    ipB = b.status.podIP;
    assert.notEqual(ipA, ipB);
    for (const ip of [ipA, ipB]) assert.ok(inCidr(ip, podCIDR), `${ip} in ${podCIDR}`);
    assert.deepEqual(a.status.podIPs, [{ ip: ipA }]);
    const wide = parseTable(runKubectl(w.lodge, ['get', 'pods', '-o', 'wide']).stdout);
    assert.equal(wide.rows.find((r) => r.NAME === 'a')?.IP, ipA);
    assert.equal(wide.rows.find((r) => r.NAME === 'b')?.IP, ipB);
    assert.match(exec('a', ['ip', '-4', 'addr', 'show', 'eth0']), new RegExp(`inet ${ipA.replace(/\./g, '\\.')}/24`));
    const body = await waitFor('b fetches from a', async () => {
      const r = runKubectl(w.lodge, ['exec', 'b', '--', ...get(ipA)], { timeoutMs: 30_000 });
      return r.code === 0 && r.stdout.includes('hello-from-a') ? r.stdout : undefined;
    });
    assert.match(body, /^HTTP\/1\.[01] 200/);
    // The gateway is the bridge's address, the first of the podCIDR.
    const gw = podCIDR.replace(/0\/24$/, '1');
    exec('b', ['ping', '-c1', '-W2', gw]);
  });

  test('after SIGKILL of lodge and a restart, the Pods keep their addresses and still talk', async () => {
    await w.lodge.kill();
    await w.restart();
    const a = await pods.waitFor('a', 'running', running);
    const b = await pods.waitFor('b', 'running', running);
    assert.equal(a.status.podIP, ipA);
    assert.equal(b.status.podIP, ipB);
    const ipam = JSON.parse(readFileSync(join(dataDir, 'network', 'ipam.json'), 'utf8'));
    assert.equal(Object.keys(ipam.allocations).length, 2);
    assert.match(exec('b', get(ipA)), /hello-from-a/);
  });

  test('a system container Instance gets an address and reaches a Pod', async () => {
    const r = lodgeCli(w.lodge, ['launch', 'busybox', 'sys'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const i = await instances.waitFor('sys', 'an IP', (x) => x?.status?.phase === 'Running' && !!x.status.ip);
    instances.uids.add(i.metadata.uid);
    assert.ok(inCidr(i.status.ip, podCIDR));
    assert.notEqual(i.status.ip, ipA);
    assert.deepEqual(i.status.ips, [i.status.ip]);
    const itf = i.status.interfaces?.[0];
    assert.equal(itf?.name, 'eth0');
    assert.equal(itf?.network, 'default');
    assert.match(itf?.macAddress ?? '', /^0e(:[0-9a-f]{2}){5}$/);
    assert.deepEqual(itf?.ips, [i.status.ip]);
    assert.ok(existsSync(`/sys/class/net/${itf.hostInterface}`), `${itf.hostInterface} on the host`);
    const got = await waitFor('instance fetches from pod a', async () => {
      const x = lodgeCli(w.lodge, ['exec', 'instance/sys', '--', ...get(ipA)]);
      return x.code === 0 && x.stdout.includes('hello-from-a') ? x.stdout : undefined;
    });
    assert.match(got, /hello-from-a/);
  });

  test('deleting a Pod releases its address and removes its veth', async () => {
    const b = await pods.get('b');
    const uid = b.metadata.uid;
    const veths = spawnSync('ip', ['-j', 'link', 'show', 'master', net.bridge], { encoding: 'utf8' }).stdout;
    const before = (JSON.parse(veths) as Array<{ ifname: string; ifalias?: string }>).filter((l) => l.ifalias === `lodge:${uid}`);
    assert.equal(before.length, 1, 'b has a veth on the bridge');
    const r = runKubectl(w.lodge, ['delete', 'pod', 'b', '--wait=true'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    await waitFor('ipam released', async () => !(uid in JSON.parse(readFileSync(join(dataDir, 'network', 'ipam.json'), 'utf8')).allocations));
    assert.ok(!existsSync(`/sys/class/net/${before[0]!.ifname}`), 'veth gone');
  });
});
