// Cluster DNS against a real `lodge up` (its own bridge, nft table and
// cluster CIDR): the kube-dns Service on the 10th address of the service
// range, this node's DNS server published as its endpoint, a Pod's
// resolv.conf and /etc/hosts, and names looked up from inside a busybox Pod
// and a system container with busybox's nslookup (its own resolver: the
// static busybox's libc NSS cannot be used) — Services by full and short
// name, a headless Service, a Pod by address, an Instance by NAME.lodge,
// NXDOMAIN, and a name outside the cluster forwarded to the test's own
// upstream on 127.0.0.1 (--dns-upstream): nothing else is ever asked.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startUpstreamProcess, UPSTREAM_ANSWER, type UpstreamProcess } from '../agent/loopback-dns-upstream.js';
import { api, lodgeCli, runKubectl, waitFor } from './harness.js';
import { useWorkloadLodge } from './workload-lodge.js';

const NODE = `lodge-dns-${process.pid}`;
const NS = 'shop';
// In a process of its own: this one is blocked in spawnSync while a Pod asks.
let upstream: UpstreamProcess | undefined;
const w = useWorkloadLodge('lodge-dns-', NODE, {
  namespace: NS,
  beforeStart: async () => void (upstream = await startUpstreamProcess()),
  args: () => ['--dns-upstream', `127.0.0.1:${upstream!.port}`],
  afterStart: async () => void (await send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } })),
  afterStop: () => upstream?.stop(),
});
const { pods, instances } = w;

const sleeper = { name: 'c', image: 'busybox', command: ['sleep', '3600'] };
const running = (p: any): boolean => p?.status?.phase === 'Running' && !!p.status.podIP;

async function send(method: string, path: string, body: unknown): Promise<any> {
  const r = await api(w.lodge, method, path, { body: JSON.stringify(body), contentType: 'application/json' });
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.json();
}

function podExec(pod: string, cmd: string[]): { code: number | null; out: string } {
  const r = runKubectl(w.lodge, ['exec', '-n', NS, pod, '--', ...cmd], { timeoutMs: 30_000 });
  return { code: r.code, out: `${r.stdout}${r.stderr}` };
}

/**
 * nslookup from the Pod until it gives an answer with `ip` (the caches and the
 * Service proxy converge): the output. The exit code is not looked at: for a
 * short name busybox asks every search domain at once and reports the
 * NXDOMAINs of the others too.
 */
async function resolvesTo(pod: string, name: string, ip: string, server?: string): Promise<string> {
  let last = '';
  try {
    return await waitFor(`${pod}: ${name} -> ${ip}`, async () => {
      last = podExec(pod, ['nslookup', name, ...(server ? [server] : [])]).out;
      return new RegExp(`^Address: ${ip.replace(/\./g, '\\.')}$`, 'm').test(last) ? last : undefined;
    }, 30_000, 250);
  } catch (e) {
    throw new Error(`${(e as Error).message}; last nslookup said:\n${last}\nDNS logs:\n${w.lodge.logs().split('\n').filter((l) => /dns/i.test(l)).slice(-10).join('\n')}`);
  }
}

/** The address at offset n of a CIDR. */
function nthAddress(cidr: string, n: number): string {
  const [base] = cidr.split('/');
  const v = base!.split('.').reduce((x, o) => x * 256 + Number(o), 0) + n;
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
}

describe('cluster DNS', () => {
  let dnsIP = '';
  let gateway = '';
  let clientIP = '';
  let dbIP = '';
  let webIP = '';

  test('kube-dns is a Service on the 10th address of the service range; the node serves it from its gateway', async () => {
    const got = (await api(w.lodge, 'GET', '/api/v1/namespaces/kube-system/services/kube-dns')).json();
    dnsIP = got.spec.clusterIP;
    // The harness gives each lodge its own service range (default 10.96.0.0/12, so 10.96.0.10).
    assert.equal(dnsIP, nthAddress(w.net.serviceCidr, 10));
    assert.equal(got.metadata.labels['k8s-app'], 'kube-dns');
    assert.deepEqual(got.spec.ports.map((p: any) => `${p.name}/${p.protocol}/${p.port}`), ['dns/UDP/53', 'dns-tcp/TCP/53']);
    const slice = await waitFor('kube-dns endpoint of this node', async () => {
      const r = await api(w.lodge, 'GET', `/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/kube-dns-${NODE}`);
      const s = r.status === 200 ? r.json() : undefined;
      return s?.endpoints?.[0]?.conditions?.ready ? s : undefined;
    });
    assert.equal(slice.metadata.labels['kubernetes.io/service-name'], 'kube-dns');
    assert.equal(slice.metadata.labels['endpointslice.kubernetes.io/managed-by'], 'lodge-agent');
    assert.equal(slice.endpoints[0].nodeName, NODE);
    const node = (await api(w.lodge, 'GET', `/api/v1/nodes/${NODE}`)).json();
    // The Node owns its endpoint: the garbage collector removes it with the node.
    assert.deepEqual(slice.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: NODE, uid: node.metadata.uid }]);
    gateway = node.spec.podCIDR.replace(/0\/24$/, '1');
    assert.deepEqual(slice.endpoints[0].addresses, [gateway]);
  });

  test("a Pod's resolv.conf points at kube-dns with its namespace's search path; /etc/hosts names it", async () => {
    await pods.create('client', { containers: [sleeper] });
    // hostname + subdomain naming the headless Service db: also primary.db.shop.svc.cluster.local.
    await pods.create('db', { containers: [sleeper], hostname: 'primary', subdomain: 'db' }, { labels: { app: 'db' } });
    await pods.create('custom', { containers: [sleeper], dnsPolicy: 'None', dnsConfig: { nameservers: ['192.0.2.1'], searches: ['a.test'], options: [{ name: 'ndots', value: '2' }] } });
    const client = await pods.waitFor('client', 'running with an IP', running);
    dbIP = (await pods.waitFor('db', 'running with an IP', running)).status.podIP;
    clientIP = client.status.podIP;
    const resolv = podExec('client', ['cat', '/etc/resolv.conf']).out;
    assert.match(resolv, new RegExp(`^nameserver ${dnsIP.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(resolv, /^search shop\.svc\.cluster\.local svc\.cluster\.local cluster\.local( |$)/m);
    assert.match(resolv, /^options ndots:5$/m);
    assert.match(podExec('client', ['cat', '/etc/hosts']).out, new RegExp(`^${clientIP.replace(/\./g, '\\.')}\\tclient$`, 'm'));
    await pods.waitFor('custom', 'running', running);
    assert.equal(podExec('custom', ['cat', '/etc/resolv.conf']).out, 'search a.test\nnameserver 192.0.2.1\noptions ndots:2\n');
  });

  test('Services by full name at the gateway, by short name through the kube-dns clusterIP; headless; a Pod by address', async () => {
    const web = await send('POST', `/api/v1/namespaces/${NS}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } });
    webIP = web.spec.clusterIP;
    await send('POST', `/api/v1/namespaces/${NS}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432 }] } });
    await resolvesTo('client', 'web.shop.svc.cluster.local', webIP, gateway);
    // The resolver's own server (kube-dns's clusterIP, through the Service proxy) and its search path.
    await resolvesTo('client', 'web', webIP);
    await resolvesTo('client', 'db', dbIP);
    await resolvesTo('client', 'primary.db.shop.svc.cluster.local', dbIP);
    await resolvesTo('client', `${dbIP.replace(/\./g, '-')}.shop.pod.cluster.local`, dbIP);
  });

  test('unknown names are NXDOMAIN; names outside the cluster go to the upstream', async () => {
    const nx = podExec('client', ['nslookup', 'nosuch.shop.svc.cluster.local', gateway]);
    assert.notEqual(nx.code, 0);
    assert.match(nx.out, /NXDOMAIN/);
    await resolvesTo('client', 'www.example.test', UPSTREAM_ANSWER);
    const asked = await waitFor('the upstream reports the question', async () => (upstream!.asked().includes('A www.example.test') ? upstream!.asked() : undefined));
    // Names of the cluster's zones never leave the node.
    assert.ok(!asked.some((q) => /cluster\.local$|\.lodge$/.test(q)), `asked: ${asked.join(', ')}`);
  });

  test('an Instance by NAME.lodge from a Pod and from inside a system container, which searches its namespace', async () => {
    const r = lodgeCli(w.lodge, ['launch', 'busybox', 'box', '-n', NS], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const box = await instances.waitFor('box', 'an IP', (x) => x?.status?.phase === 'Running' && !!x.status.ip);
    const boxIP = box.status.ip;
    await resolvesTo('client', 'box.lodge', boxIP);
    const inBox = (cmd: string[]): { code: number | null; out: string } => {
      const x = lodgeCli(w.lodge, ['exec', '-n', NS, 'instance/box', '--', ...cmd], { timeoutMs: 30_000 });
      return { code: x.code, out: `${x.stdout}${x.stderr}` };
    };
    const resolv = inBox(['cat', '/etc/resolv.conf']).out;
    assert.match(resolv, new RegExp(`^nameserver ${dnsIP.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(resolv, /^search shop\.lodge lodge shop\.svc\.cluster\.local svc\.cluster\.local cluster\.local$/m);
    for (const [name, ip] of [['box', boxIP], ['web', webIP]]) {
      let last = '';
      await waitFor(`box: ${name} -> ${ip}`, async () => {
        last = inBox(['nslookup', name!]).out;
        return last.includes(`Address: ${ip}\n`) ? last : undefined;
      }, 30_000, 250).catch((e: Error) => Promise.reject(new Error(`${e.message}; last nslookup said:\n${last}`)));
    }
  });
});
