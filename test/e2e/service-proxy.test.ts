// The node's Service proxy against a real `lodge up` (its own bridge, nft
// table, Service and NodePort ranges: harness testNetwork): a ClusterIP
// spread over two busybox httpd Pods, a Pod reaching itself through a VIP,
// a Pod failing its readiness probe dropping out, NodePort from the host,
// ClientIP affinity, a system container Instance behind a Service and behind
// a host-port forward (lodge forward), and a SIGKILL of lodge: the VIP still
// answers while lodge is down, and the restarted agent keeps the rules it
// finds (same nft handles) instead of rebuilding them. Only addresses on this
// lodge's bridge and loopback are contacted: no connection is attempted
// before its VIP is in the table.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { lodgeCli, runKubectl, waitFor } from './harness.js';
import { useWorkloadLodge } from './workload-lodge.js';

const NODE = `lodge-svc-${process.pid}`;
const w = useWorkloadLodge('lodge-svc-', NODE, {
  afterStop: () => assert.equal(spawnSync('nft', ['list', 'table', 'inet', w.net.natTable]).status, 1, `table ${w.net.natTable} removed`),
});
const { pods, instances, net } = w;

const running = (p: any): boolean => p?.status?.phase === 'Running' && !!p.status.podIP;
const ready = (p: any): boolean => running(p) && p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
/** An httpd answering with its Pod's name, ready while /tmp/ready exists. */
const web = (name: string) => ({
  containers: [
    {
      name: 'c',
      image: 'busybox',
      command: ['sh', '-c', `mkdir -p /www && echo ${name} > /www/index.html && touch /tmp/ready && exec httpd -f -p 8080 -h /www`],
      readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 },
    },
  ],
});
const request = (ip: string, port: number): string => `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} ${port}`;
const body = (out: string): string => out.slice(out.indexOf('\r\n\r\n') + 4).trim();

function kubectlOk(args: string[], input?: string): string {
  const r = runKubectl(w.lodge, args, { timeoutMs: 30_000, ...(input ? { input } : {}) });
  assert.equal(r.code, 0, `${r.command}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
/** GET through `ip` from the client Pod (busybox nc inside it). */
function getFrom(pod: string, ip: string, port: number): string {
  return body(kubectlOk(['exec', pod, '--', 'sh', '-c', request(ip, port)]));
}
/** GET from the host (busybox nc on the host). */
function hostGet(ip: string, port: number): string {
  const r = spawnSync('busybox', ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 ${ip} ${port}`], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`GET ${ip}:${port} from the host: ${r.stderr}`);
  return body(r.stdout);
}
/** GET from inside a Pod's network namespace with the host's busybox: works while lodge is down. */
function nsGet(uid: string, ip: string, port: number): string {
  const r = spawnSync('ip', ['netns', 'exec', `lodge-${uid}`, 'busybox', 'sh', '-c', request(ip, port).replace('nc ', 'busybox nc ')], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`GET ${ip}:${port} in lodge-${uid}: ${r.stderr}`);
  return body(r.stdout);
}

function nftJson(): any[] {
  const r = spawnSync('nft', ['-j', 'list', 'table', 'inet', net.natTable], { encoding: 'utf8' });
  return r.status === 0 ? JSON.parse(r.stdout).nftables : [];
}
/** Whether a map element with this key ("10.x.y.z . tcp . 80", "tcp . 30001") is programmed: checked before any connection to it. */
function programmed(key: string): boolean {
  const keyOf = (k: any): string => (k.concat ?? [k]).join(' . ');
  return nftJson().some((o) => o.map && (o.map.elem ?? []).some((e: any) => keyOf(e[0]) === key));
}
function serviceHandles(): Record<string, number> {
  return Object.fromEntries(nftJson().filter((o) => o.chain && /^(svc|ep)-[A-Z0-9]{8}-/.test(o.chain.name)).map((o) => [o.chain.name, o.chain.handle]));
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const svcYaml = (name: string, selector: Record<string, string>, extra = ''): string => `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  selector: ${JSON.stringify(selector)}
  ports: [{ name: http, port: 80, targetPort: 8080 }]
${extra}
`;

describe('service proxy', () => {
  let vip = '';
  let stickyVip = '';
  let nodePort = 0;
  let gateway = '';
  let clientUid = '';

  test('a ClusterIP reaches both backends; a Pod reaches itself through a VIP', async () => {
    await pods.create('web-a', web('web-a'), { labels: { app: 'web', who: 'a' } });
    await pods.create('web-b', web('web-b'), { labels: { app: 'web', who: 'b' } });
    const client = await pods.create('client', { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] });
    clientUid = client.metadata.uid;
    kubectlOk(['apply', '-f', '-'], [svcYaml('web', { app: 'web' }, '  type: NodePort'), svcYaml('self-a', { who: 'a' }), svcYaml('sticky', { app: 'web' }, '  sessionAffinity: ClientIP')].join('---\n'));
    for (const p of ['web-a', 'web-b']) await pods.waitFor(p, 'ready', ready);
    await pods.waitFor('client', 'running', running);
    const svc = JSON.parse(kubectlOk(['get', 'svc', 'web', '-o', 'json']));
    vip = svc.spec.clusterIP;
    nodePort = svc.spec.ports[0].nodePort;
    stickyVip = JSON.parse(kubectlOk(['get', 'svc', 'sticky', '-o', 'json'])).spec.clusterIP;
    const selfVip = JSON.parse(kubectlOk(['get', 'svc', 'self-a', '-o', 'json'])).spec.clusterIP;
    assert.ok(vip.startsWith(net.serviceCidr.split('.').slice(0, 2).join('.') + '.'), `${vip} in ${net.serviceCidr}`);
    for (const v of [vip, stickyVip, selfVip]) await waitFor(`${v} programmed`, async () => programmed(`${v} . tcp . 80`));
    const seen = await waitFor('both backends answer through the VIP', async () => {
      const got = new Set<string>();
      for (let i = 0; i < 16 && got.size < 2; i++) got.add(getFrom('client', vip, 80));
      return got.size === 2 ? got : undefined;
    });
    assert.deepEqual([...seen].sort(), ['web-a', 'web-b']);
    assert.equal(getFrom('web-a', selfVip, 80), 'web-a');
  });

  test('ClientIP affinity sticks; NodePort answers on 127.0.0.1 and the bridge address', async () => {
    const got = new Set<string>();
    for (let i = 0; i < 8; i++) got.add(getFrom('client', stickyVip, 80));
    assert.equal(got.size, 1, [...got].join());
    const node = JSON.parse(kubectlOk(['get', 'node', NODE, '-o', 'json']));
    gateway = node.spec.podCIDR.replace(/0\/24$/, '1');
    await waitFor('nodePort programmed', async () => programmed(`tcp . ${nodePort}`));
    assert.match(hostGet('127.0.0.1', nodePort), /^web-[ab]$/);
    assert.match(hostGet(gateway, nodePort), /^web-[ab]$/);
  });

  test('a Pod failing its readiness probe drops out of the VIP, and comes back', async () => {
    kubectlOk(['exec', 'web-b', '--', 'rm', '/tmp/ready']);
    await pods.waitFor('web-b', 'not ready', (p) => running(p) && !ready(p));
    await waitFor('only web-a behind the VIP', async () => {
      for (let i = 0; i < 8; i++) if (getFrom('client', vip, 80) !== 'web-a') return false;
      return true;
    });
    kubectlOk(['exec', 'web-b', '--', 'touch', '/tmp/ready']);
    await pods.waitFor('web-b', 'ready again', ready);
  });

  test('a system container Instance behind a Service and a host-port forward (lodge forward)', async () => {
    const r = lodgeCli(w.lodge, ['launch', 'busybox', 'sys'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const i = await instances.waitFor('sys', 'an IP', (x) => x?.status?.phase === 'Running' && !!x.status.ip);
    instances.uids.add(i.metadata.uid);
    const e = lodgeCli(w.lodge, ['exec', 'instance/sys', '--', 'sh', '-c', 'mkdir -p /www && echo sys > /www/index.html && httpd -p 8080 -h /www']);
    assert.equal(e.code, 0, e.stderr);
    kubectlOk(['label', 'instance', 'sys', 'app=sys']);
    kubectlOk(['apply', '-f', '-'], svcYaml('sys', { app: 'sys' }));
    const sysVip = JSON.parse(kubectlOk(['get', 'svc', 'sys', '-o', 'json'])).spec.clusterIP;
    await waitFor('sys VIP programmed', async () => programmed(`${sysVip} . tcp . 80`));
    assert.equal(await waitFor('instance answers through its VIP', async () => (getFrom('client', sysVip, 80) === 'sys' ? 'sys' : undefined)), 'sys');

    const port = await freePort();
    let f = lodgeCli(w.lodge, ['forward', 'add', 'sys', String(port), '8080']);
    assert.equal(f.code, 0, f.stderr);
    f = lodgeCli(w.lodge, ['forward', 'add', 'sys', `127.0.0.1:${port}`, '80']);
    assert.notEqual(f.code, 0);
    assert.match(f.stderr, new RegExp(`host port ${port}/tcp is already forwarded`));
    f = lodgeCli(w.lodge, ['forward', 'ls', 'sys']);
    assert.match(f.stdout, new RegExp(`^\\*\\s+${port}\\s+8080\\s+TCP$`, 'm'));
    await waitFor('forward programmed', async () => programmed(`tcp . ${port}`));
    assert.equal(hostGet('127.0.0.1', port), 'sys');
    assert.equal(hostGet(gateway, port), 'sys');
    f = lodgeCli(w.lodge, ['forward', 'rm', 'sys', String(port)]);
    assert.equal(f.code, 0, f.stderr);
    await waitFor('forward removed', async () => !programmed(`tcp . ${port}`));
    assert.throws(() => hostGet('127.0.0.1', port), /refused/i);
  });

  test('SIGKILL of lodge: the VIP answers while it is down; the restarted agent keeps the rules it finds', async () => {
    // The Instance's chains: its readiness does not flap across the restart (a Pod's does, until its first probe, as with a kubelet).
    const handles = Object.fromEntries(Object.entries(serviceHandles()).filter(([c]) => c.includes('default/sys/')));
    assert.equal(Object.keys(handles).length, 1, 'the sys Service chain (its DNAT is in it: no endpoint chain without affinity)');
    await w.lodge.kill();
    assert.match(nsGet(clientUid, vip, 80), /^web-[ab]$/);
    assert.match(hostGet('127.0.0.1', nodePort), /^web-[ab]$/);
    await w.restart();
    // A Service made after the restart shows the proxy has synced; the older chains are the very same objects.
    kubectlOk(['apply', '-f', '-'], svcYaml('after', { app: 'web' }));
    const afterVip = JSON.parse(kubectlOk(['get', 'svc', 'after', '-o', 'json'])).spec.clusterIP;
    await waitFor('new Service programmed after restart', async () => programmed(`${afterVip} . tcp . 80`));
    const now = serviceHandles();
    for (const [chain, handle] of Object.entries(handles)) assert.equal(now[chain], handle, `${chain} kept`);
    assert.match(await waitFor('VIP after restart', async () => getFrom('client', vip, 80) || undefined), /^web-[ab]$/);
  });
});
