// VMs on the node's network, against a real `lodge up` with its own bridge,
// nft table and cluster CIDR (harness: testNetwork) and one busybox-vm under
// QEMU: the VM gets an address of the podCIDR (status.ip, interfaces, `lodge
// list`) on a tap plugged into the bridge, configured in the guest from the
// seed; it reaches the gateway and a Pod, a Pod reaches it; it reaches a
// Service's virtual IP and resolves its name through the cluster DNS; the
// address survives a restart of the VM and a SIGKILL of lodge (traffic keeps
// flowing while lodge is down); a requested address outside the podCIDR is
// refused naming the field; delete removes the tap and gives the address back.
// Only addresses inside the bridge and namespaces this lodge made are
// contacted. Checks are on output, never timings.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tapName } from '../../src/agent/network/tap.js';
import { netnsName } from '../../src/agent/pod-sandbox.js';
import { api, lodgeCli, parseTable, runKubectl, waitFor, type RunResult } from './harness.js';
import { removeTapOf } from './instance-fixture.js';
import { useWorkloadLodge } from './workload-lodge.js';

const NODE = `lodge-vmnet-${process.pid}`;
// Short: the VMs' unix sockets live under the data dir.
const w = useWorkloadLodge('lodge-vmn-', NODE, {
  afterStop: () => {
    // The fixture's sweep removes each VM's default tap; the second NIC's is this file's.
    for (const uid of w.instances.uids) removeTapOf(`${uid}/eth1`);
    if (existsSync(`/sys/class/net/${labBridge}`)) spawnSync('ip', ['link', 'del', labBridge]);
    spawnSync('nft', ['delete', 'table', 'inet', `${net.natTable}-net-vmlab`]);
  },
});
const { pods, instances, dataDir, net, qemuPid } = w;
/** A user Network for a second NIC: a /24 of this lodge's own /16, away from the podCIDR. */
const labSubnet = net.clusterCidr.replace(/\.0\.0\/16$/, '.201.0/24');
const labBridge = `lt${process.pid}vl`;

const podServer = { name: 'c', image: 'busybox', command: ['sh', '-c', 'mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 8080 -h /www'] };
const podClient = { name: 'c', image: 'busybox', command: ['sleep', '3600'] };
/** An HTTP GET with busybox nc (no name resolution involved). */
const httpGet = (ip: string, port: number): string => `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} ${port}`;

function lodgeOk(args: string[], timeoutMs = 120_000): string {
  const r = lodgeCli(w.lodge, args, { timeoutMs });
  assert.equal(r.code, 0, `lodge ${args.join(' ')}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`);
  return r.stdout;
}

/** A shell command in the VM through its guest agent; the result whatever the exit code. */
const inVm = (cmd: string): RunResult => lodgeCli(w.lodge, ['exec', 'v', '--', 'sh', '-c', cmd], { timeoutMs: 60_000 });

function inPod(pod: string, cmd: string): RunResult {
  return runKubectl(w.lodge, ['exec', pod, '--', 'sh', '-c', cmd], { timeoutMs: 30_000 });
}

function inCidr(ip: string, cidr: string): boolean {
  const num = (a: string): number => a.split('.').reduce((x, p) => x * 256 + Number(p), 0);
  const [base, len] = cidr.split('/');
  const size = 2 ** (32 - Number(len));
  return Math.floor(num(ip) / size) === Math.floor(num(base!) / size);
}

/** The tap on the host: its bridge, owner alias and ifindex (undefined when there is none). */
function hostTap(name: string): { master?: string; ifalias?: string; ifindex: number } | undefined {
  const r = spawnSync('ip', ['-j', 'link', 'show', 'dev', name], { encoding: 'utf8' });
  return r.status === 0 ? (JSON.parse(r.stdout) as Array<{ master?: string; ifalias?: string; ifindex: number }>)[0] : undefined;
}

/** An HTTP GET from the host to an address on this lodge's bridge (the host holds the gateway address). */
function hostGet(ip: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: ip, port, timeout: 5000 }, () => s.end('GET / HTTP/1.0\r\n\r\n'));
    let body = '';
    s.on('data', (d: Buffer) => (body += d.toString()));
    s.on('end', () => resolve(body));
    s.on('timeout', () => s.destroy(new Error(`GET ${ip}:${port}: timed out`)));
    s.on('error', reject);
  });
}

const ipamAllocations = (): Record<string, string> => JSON.parse(readFileSync(join(dataDir, 'network', 'ipam.json'), 'utf8')).allocations;

describe('VMs on the node network', () => {
  let podCIDR = '';
  let gateway = '';
  let uid = '';
  let vmIp = '';
  let tap = '';
  let serverIp = '';

  test('a VM gets an address of the podCIDR on a tap in the bridge, configured in the guest; it reaches the gateway and a Pod, and a Pod reaches it', async () => {
    // The first launch also builds the image; under TCG a boot takes seconds.
    assert.match(lodgeOk(['launch', 'busybox-vm', 'v', '--vm', '--memory', '256MiB', '--timeout', '10m'], 600_000), /instance.lodge.dev\/v running on/);
    await pods.create('server', { containers: [podServer] }, { labels: { app: 'web' } });
    await pods.create('client', { containers: [podClient] });
    const node = JSON.parse(runKubectl(w.lodge, ['get', 'node', NODE, '-o', 'json']).stdout);
    podCIDR = node.spec.podCIDR;
    gateway = podCIDR.replace(/0\/24$/, '1');

    const i = await instances.waitFor('v', 'running with an IP', (x) => x?.status?.phase === 'Running' && !!x.status.ip);
    uid = i.metadata.uid;
    vmIp = i.status.ip;
    assert.ok(inCidr(vmIp, podCIDR), `${vmIp} in ${podCIDR}`);
    assert.deepEqual(i.status.ips, [vmIp]);
    const itf = i.status.interfaces?.[0];
    assert.equal(itf?.name, 'eth0');
    assert.equal(itf?.network, 'default');
    assert.match(itf?.macAddress ?? '', /^0e(:[0-9a-f]{2}){5}$/);
    assert.deepEqual(itf?.ips, [vmIp]);
    tap = tapName(uid);
    assert.equal(itf?.hostInterface, tap);
    const onHost = hostTap(tap);
    assert.equal(onHost?.master, net.bridge, `tap ${tap} is a port of ${net.bridge}`);
    assert.equal(onHost?.ifalias, `lodge:${uid}`);
    assert.equal(ipamAllocations()[uid], vmIp);
    const listed = parseTable(lodgeOk(['list']));
    assert.equal(listed.rows.find((r) => r.NAME === 'v')?.IP, vmIp);

    // The guest configured Lodge's address on the NIC with the status' MAC, and its default route via the gateway.
    const guestItf = await waitFor('the guest has its address', async () => {
      const r = inVm('ip addr show eth0; ip route');
      return r.code === 0 && r.stdout.includes(`inet ${vmIp}/24`) ? r.stdout : undefined;
    }, 120_000);
    assert.ok(guestItf.includes(`link/ether ${itf.macAddress}`), guestItf);
    assert.match(guestItf, new RegExp(`default via ${gateway.replace(/\./g, '\\.')} dev eth0`));
    const ping = inVm(`ping -c1 -W5 ${gateway}`);
    assert.equal(ping.code, 0, `VM pings the gateway\n${ping.stdout}${ping.stderr}`);

    // VM → Pod.
    const server = await pods.waitFor('server', 'running with an IP', (p) => p?.status?.phase === 'Running' && !!p.status.podIP);
    serverIp = server.status.podIP;
    const fromVm = await waitFor('the VM fetches from the Pod', async () => {
      const r = inVm(httpGet(serverIp, 8080));
      return r.code === 0 && r.stdout.includes('hello-from-pod') ? r.stdout : undefined;
    }, 60_000);
    assert.match(fromVm, /^HTTP\/1\.[01] 200/);

    // Pod → VM: busybox httpd in the guest (it daemonizes; its stdio away from the guest agent's pipes).
    const started = inVm('mkdir -p /tmp/www && echo hello-from-vm >/tmp/www/index.html && httpd -p 8081 -h /tmp/www </dev/null >/dev/null 2>&1');
    assert.equal(started.code, 0, started.stderr);
    await pods.waitFor('client', 'running', (p) => p?.status?.phase === 'Running');
    const fromPod = await waitFor('the Pod fetches from the VM', async () => {
      const r = inPod('client', httpGet(vmIp, 8081));
      return r.code === 0 && r.stdout.includes('hello-from-vm') ? r.stdout : undefined;
    }, 60_000);
    assert.match(fromPod, /^HTTP\/1\.[01] 200/);
  });

  test('the VM reaches a Service by its virtual IP and resolves its name through the cluster DNS given in its resolv.conf', async () => {
    const r = await api(w.lodge, 'POST', '/api/v1/namespaces/default/services', {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } }),
      contentType: 'application/json',
    });
    assert.equal(r.status, 201, r.text);
    const webIP = r.json().spec.clusterIP as string;
    const viaVip = await waitFor('the VM fetches through the Service VIP', async () => {
      const x = inVm(httpGet(webIP, 80));
      return x.code === 0 && x.stdout.includes('hello-from-pod') ? x.stdout : undefined;
    }, 60_000);
    assert.match(viaVip, /^HTTP\/1\.[01] 200/);

    const dns = await api(w.lodge, 'GET', '/api/v1/namespaces/kube-system/services/kube-dns');
    assert.equal(dns.status, 200, dns.text);
    const dnsIP = dns.json().spec.clusterIP as string;
    const resolv = inVm('cat /etc/resolv.conf').stdout;
    assert.match(resolv, new RegExp(`^nameserver ${dnsIP.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(resolv, /^search .*default\.svc\.cluster\.local/m);
    // Only cluster names: they are answered on the node, nothing is forwarded off it.
    let last = '';
    await waitFor('the VM resolves web.default.svc.cluster.local', async () => {
      last = inVm('nslookup web.default.svc.cluster.local').stdout;
      return new RegExp(`^Address: ${webIP.replace(/\./g, '\\.')}$`, 'm').test(last);
    }, 30_000, 250).catch((e: Error) => Promise.reject(new Error(`${e.message}; last nslookup said:\n${last}`)));
  });

  test('a Service selecting the VM (an Instance has labels too) takes a Pod to it', async () => {
    const label = runKubectl(w.lodge, ['label', 'instance', 'v', 'app=vmweb']);
    assert.equal(label.code, 0, label.stderr);
    const r = await api(w.lodge, 'POST', '/api/v1/namespaces/default/services', {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'vmweb' }, spec: { selector: { app: 'vmweb' }, ports: [{ port: 80, targetPort: 8081 }] } }),
      contentType: 'application/json',
    });
    assert.equal(r.status, 201, r.text);
    const vip = r.json().spec.clusterIP as string;
    const slice = await waitFor('the VM is the Service endpoint', async () => {
      const x = runKubectl(w.lodge, ['get', 'endpointslices', '-l', 'kubernetes.io/service-name=vmweb', '-o', 'json']);
      const item = x.code === 0 ? JSON.parse(x.stdout).items[0] : undefined;
      return item?.endpoints?.[0]?.conditions?.ready ? item : undefined;
    }, 60_000);
    assert.deepEqual(slice.endpoints[0].addresses, [vmIp]);
    assert.equal(slice.endpoints[0].targetRef.kind, 'Instance');
    const got = await waitFor('the Pod fetches from the VM through the VIP', async () => {
      const x = inPod('client', httpGet(vip, 80));
      return x.code === 0 && x.stdout.includes('hello-from-vm') ? x.stdout : undefined;
    }, 60_000);
    assert.match(got, /^HTTP\/1\.[01] 200/);
  });

  test('SIGKILL of lodge: traffic to the VM keeps flowing while it is down; after a restart the same QEMU, tap and address', async () => {
    const pid = qemuPid(uid);
    assert.ok(pid, 'QEMU runs');
    const ifindex = hostTap(tap)!.ifindex;
    await w.lodge.kill();
    // Lodge is down: the host (the gateway's address) and a Pod's namespace still reach the VM through the bridge.
    assert.match(await hostGet(vmIp, 8081), /hello-from-vm/);
    let podReached = false;
    // The Pods' namespaces, by the uids the fixture remembers (the API is down).
    for (const podUid of pods.uids) {
      const r = spawnSync('ip', ['netns', 'exec', netnsName(podUid), 'busybox', 'sh', '-c', httpGet(vmIp, 8081)], { encoding: 'utf8', timeout: 15_000 });
      if (r.status === 0 && r.stdout.includes('hello-from-vm')) podReached = true;
    }
    assert.ok(podReached, 'a Pod namespace reaches the VM while lodge is down');

    await w.restart();
    const i = await instances.waitFor('v', 'running', (x) => x?.status?.phase === 'Running' && !!x.status.ip);
    assert.equal(i.status.ip, vmIp);
    assert.equal(qemuPid(uid), pid, 'the same QEMU');
    assert.equal(hostTap(tap)?.ifindex, ifindex, 'the same tap, not made again');
    assert.equal(ipamAllocations()[uid], vmIp);
    const r = inVm(httpGet(serverIp, 8080));
    assert.match(r.stdout, /hello-from-pod/, r.stderr);
  });

  test('a restart of the VM (a fresh boot) keeps its address, configured again from the seed; a second NIC on a user network comes with it', async () => {
    const pid = qemuPid(uid);
    lodgeOk(['network', 'create', 'vmlab', '--subnet', labSubnet, '--bridge', labBridge]);
    const patch = { spec: { networks: [{ name: 'eth0', network: 'default' }, { name: 'eth1', network: 'vmlab' }] } };
    const p = await api(w.lodge, 'PATCH', '/apis/lodge.dev/v1alpha1/namespaces/default/instances/v', { body: JSON.stringify(patch), contentType: 'application/merge-patch+json' });
    assert.equal(p.status, 200, p.text);
    lodgeOk(['restart', 'v']);
    await waitFor('a new QEMU', async () => {
      const now = qemuPid(uid);
      return now !== undefined && now !== pid;
    }, 120_000);
    const i = await instances.waitFor('v', 'running again', (x) => x?.status?.phase === 'Running');
    assert.equal(i.status.ip, vmIp);
    const got = await waitFor('the rebooted VM fetches from the Pod', async () => {
      const r = inVm(`ip addr show eth0 && ${httpGet(serverIp, 8080)}`);
      return r.code === 0 && r.stdout.includes('hello-from-pod') ? r.stdout : undefined;
    }, 120_000);
    assert.ok(got.includes(`inet ${vmIp}/24`), got);
    // eth1: a tap on the lab bridge, an address of its subnet in the guest (no default route through it), the lab gateway reachable.
    const two = await instances.waitFor('v', 'two interfaces', (x) => x?.status?.interfaces?.length === 2);
    const eth1 = two.status.interfaces[1];
    assert.equal(eth1.network, 'vmlab');
    assert.equal(hostTap(eth1.hostInterface)?.master, labBridge);
    assert.ok(eth1.ips[0].startsWith(labSubnet.replace(/0\/24$/, '')), `${eth1.ips[0]} in ${labSubnet}`);
    const inside = await waitFor('the guest has its eth1 address', async () => {
      const r = inVm('ip -4 addr; ip route');
      return r.code === 0 && r.stdout.includes(`inet ${eth1.ips[0]}/24`) ? r.stdout : undefined;
    }, 60_000);
    assert.match(inside, new RegExp(`default via ${gateway.replace(/\./g, '\\.')}`));
    const ping = inVm(`ping -c1 -W5 ${labSubnet.replace(/0\/24$/, '1')}`);
    assert.equal(ping.code, 0, `the VM pings the lab gateway\n${ping.stdout}${ping.stderr}`);
  });

  test('a requested address outside the podCIDR is refused in status, naming the field', async () => {
    const path = '/apis/lodge.dev/v1alpha1/namespaces/default/instances';
    const body = {
      apiVersion: 'lodge.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name: 'bad-ip' },
      spec: { type: 'vm', image: 'busybox-vm', memory: '256Mi', networks: [{ name: 'eth0', network: 'default', ipAddress: '192.0.2.10' }] },
    };
    const r = await api(w.lodge, 'POST', path, { body: JSON.stringify(body), contentType: 'application/json' });
    assert.equal(r.status, 201, r.text);
    const i = await instances.waitFor('bad-ip', 'refused', (x) => x?.status?.reason === 'InvalidIPAddress');
    assert.match(i.status.message, /spec\.networks\[0\]\.ipAddress: 192\.0\.2\.10 is outside the node's subnet/);
    assert.equal(qemuPid(i.metadata.uid), undefined, 'no QEMU was started');
    assert.equal(ipamAllocations()[i.metadata.uid], undefined);
    lodgeOk(['delete', 'bad-ip']);
    await waitFor('bad-ip gone', async () => (await instances.get('bad-ip')) === undefined, 60_000);
  });

  test('delete removes the tap and gives the address back', async () => {
    lodgeOk(['delete', 'v']);
    await waitFor('v gone', async () => (await instances.get('v')) === undefined, 120_000);
    assert.equal(qemuPid(uid), undefined, 'QEMU ended');
    assert.equal(hostTap(tap), undefined, `tap ${tap} removed`);
    assert.equal(ipamAllocations()[uid], undefined, 'address released');
    assert.equal(hostTap(tapName(`${uid}/eth1`)), undefined, 'the lab tap removed');
    lodgeOk(['network', 'rm', 'vmlab']);
    await waitFor('lab bridge removed', async () => !existsSync(`/sys/class/net/${labBridge}`), 20_000);
  });
});
