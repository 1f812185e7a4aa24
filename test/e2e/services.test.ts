// Services end to end against a real `lodge up --no-agent`: cluster IP and
// node port allocation through kubectl, and the Endpoints / EndpointSlice
// controllers following Pods and Instances. With no agent nobody writes Pod
// or Instance status, so the test writes it through the status subresource
// (podIP / ip and the Ready condition) as the networking code will.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, kubectl, removeDir, startLodge, waitFor, type Lodge } from './harness.js';

let lodge: Lodge;
const NS = '/api/v1/namespaces/default';
const INST = '/apis/lodge.dev/v1alpha1/namespaces/default/instances';
const SLICES = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';

before(async () => {
  lodge = await startLodge({ args: ['--no-agent', '--service-cidr', '10.100.0.0/16', '--service-node-port-range', '31000-31099'] });
});

after(async () => {
  if (!lodge) return;
  await lodge.stop();
  removeDir(lodge.dataDir);
});

async function send(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<any> {
  const r = await api(lodge, method, path, { body: body === undefined ? undefined : JSON.stringify(body), contentType });
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.json();
}
const merge = (path: string, body: unknown): Promise<any> => send('PATCH', path, body, 'application/merge-patch+json');

async function pod(name: string, labels: Record<string, string>, ports: Array<{ name?: string; containerPort: number }> = [{ name: 'http', containerPort: 8080 }]): Promise<void> {
  // Bound to a node that has no agent, so its status is ours to write.
  await send('POST', `${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { nodeName: 'ghost', containers: [{ name: 'c', image: 'busybox', ports }] } });
}

async function podStatus(name: string, ip: string, ready: boolean): Promise<void> {
  await merge(`${NS}/pods/${name}/status`, { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } });
}

const get = async (path: string): Promise<any> => {
  const r = await api(lodge, 'GET', path);
  return r.status === 200 ? r.json() : undefined;
};

/** Wait until the Endpoints of `svc` satisfy `pred`. */
const endpoints = (svc: string, pred: (ep: any) => boolean, what: string): Promise<any> =>
  waitFor(`endpoints ${svc}: ${what}`, async () => {
    const ep = await get(`${NS}/endpoints/${svc}`);
    return ep && pred(ep) ? ep : undefined;
  });

const slices = async (svc: string): Promise<any[]> =>
  (await get(`${SLICES}?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${svc}`)}`)).items;

const sliceEndpoints = (svc: string, pred: (eps: any[], all: any[]) => boolean, what: string): Promise<any[]> =>
  waitFor(`endpointslices ${svc}: ${what}`, async () => {
    const all = await slices(svc);
    const eps = all.flatMap((s) => s.endpoints ?? []);
    return pred(eps, all) ? all : undefined;
  });

const ips = (list: any[] | undefined): string[] => (list ?? []).map((a) => a.ip).sort();

test('kubectl creates Services with allocated cluster IPs and node ports from the configured ranges', () => {
  let r = kubectl(lodge, ['create', 'service', 'clusterip', 'alloc', '--tcp=80:8080']);
  assert.equal(r.code, 0, r.stderr);
  r = kubectl(lodge, ['create', 'service', 'nodeport', 'alloc-np', '--tcp=80:8080']);
  assert.equal(r.code, 0, r.stderr);
  r = kubectl(lodge, ['get', 'svc', 'alloc', 'alloc-np', '--no-headers']);
  assert.equal(r.code, 0, r.stderr);
  const [a, np] = r.stdout.trim().split('\n').map((l) => l.split(/\s+/));
  assert.equal(a[1], 'ClusterIP');
  assert.match(a[2], /^10\.100\.\d+\.\d+$/);
  assert.equal(a[4], '80/TCP');
  assert.equal(np[1], 'NodePort');
  assert.match(np[4], /^80:310\d\d\/TCP$/);
  // Asking for a taken IP fails as Kubernetes does.
  r = kubectl(lodge, ['create', 'service', 'clusterip', 'alloc2', '--tcp=80', `--clusterip=${a[2]}`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /provided IP is already allocated/);
  r = kubectl(lodge, ['create', 'service', 'clusterip', 'alloc3', '--tcp=80', '--clusterip=10.0.0.5']);
  assert.match(r.stderr, /is not in the valid range/);
  r = kubectl(lodge, ['describe', 'svc', 'alloc']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`IP:\\s+${a[2].replace(/\./g, '\\.')}`));
  assert.match(r.stdout, /TargetPort:\s+8080\/TCP/);
});

test('Endpoints and EndpointSlices follow Pods: readiness, labels, named ports, deletes', async () => {
  await pod('web-1', { app: 'web' });
  await pod('web-2', { app: 'web' }, [{ name: 'http', containerPort: 9090 }]);
  // No port named http: never an endpoint of a Service that targets `http`.
  await pod('other', { app: 'other' }, [{ name: 'metrics', containerPort: 9100 }]);
  await send('POST', `${NS}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  // No addresses yet: empty Endpoints and a placeholder slice.
  await endpoints('web', (ep) => !ep.subsets, 'exists without subsets');
  await sliceEndpoints('web', (eps, all) => all.length === 1 && eps.length === 0, 'placeholder');

  await podStatus('web-1', '10.244.0.11', true);
  await podStatus('web-2', '10.244.0.12', false);
  await podStatus('other', '10.244.0.13', true);
  // The named port resolves per Pod: two subsets.
  let ep = await endpoints('web', (e) => (e.subsets ?? []).length === 2, 'two subsets');
  const by = (port: number): any => ep.subsets.find((s: any) => s.ports[0].port === port);
  assert.deepEqual(ips(by(8080).addresses), ['10.244.0.11']);
  assert.deepEqual(ips(by(9090).notReadyAddresses), ['10.244.0.12']);
  assert.equal(by(8080).ports[0].name, 'http');
  assert.equal(by(8080).addresses[0].targetRef.kind, 'Pod');
  assert.equal(by(8080).addresses[0].targetRef.name, 'web-1');
  assert.equal(by(8080).addresses[0].nodeName, 'ghost');
  assert.ok(by(8080).addresses[0].targetRef.uid);
  assert.equal(ep.metadata.ownerReferences[0].kind, 'Service');

  let all = await sliceEndpoints('web', (eps) => eps.length === 2, 'two endpoints');
  for (const s of all) {
    assert.equal(s.addressType, 'IPv4');
    assert.equal(s.metadata.labels['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.lodge.dev');
    assert.match(s.metadata.name, /^web-[0-9a-f]{5}$/);
    assert.equal(s.metadata.ownerReferences[0].name, 'web');
  }
  const e2 = all.flatMap((s) => s.endpoints).find((e: any) => e.addresses[0] === '10.244.0.12');
  assert.equal(e2.conditions.ready, false);
  assert.equal(e2.targetRef.name, 'web-2');

  // Readiness flips.
  await podStatus('web-2', '10.244.0.12', true);
  ep = await endpoints('web', (e) => (e.subsets ?? []).every((s: any) => !s.notReadyAddresses) && ips(e.subsets.flatMap((s: any) => s.addresses)).length === 2, 'both ready');
  await sliceEndpoints('web', (eps) => eps.length === 2 && eps.every((e) => e.conditions.ready), 'both ready');

  // A label change takes a Pod out; another one's brings it in.
  await merge(`${NS}/pods/web-1`, { metadata: { labels: { app: 'gone' } } });
  await merge(`${NS}/pods/other`, { metadata: { labels: { app: 'web' } } });
  await endpoints('web', (e) => ips((e.subsets ?? []).flatMap((s: any) => s.addresses ?? [])).join() === '10.244.0.12', 'web-1 left, other has no http port');

  // Delete.
  await send('DELETE', `${NS}/pods/web-2`);
  await endpoints('web', (e) => !e.subsets, 'empty after delete');
  await sliceEndpoints('web', (eps, list) => eps.length === 0 && list.length === 1, 'placeholder again');

  // kubectl shows them.
  await podStatus('web-1', '10.244.0.11', true);
  await merge(`${NS}/pods/web-1`, { metadata: { labels: { app: 'web' } } });
  await endpoints('web', (e) => ips((e.subsets ?? []).flatMap((s: any) => s.addresses ?? [])).join() === '10.244.0.11', 'web-1 back');
  let r = kubectl(lodge, ['get', 'endpoints', 'web', '--no-headers']);
  assert.match(r.stdout, /^web\s+10\.244\.0\.11:8080\s/);
  await sliceEndpoints('web', (eps) => eps.length === 1, 'one endpoint');
  r = kubectl(lodge, ['get', 'endpointslices']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE/);
  assert.match(r.stdout, /web-[0-9a-f]{5}\s+IPv4\s+8080\s+10\.244\.0\.11\s/);
  r = kubectl(lodge, ['describe', 'svc', 'web']);
  assert.match(r.stdout, /Endpoints:\s+10\.244\.0\.11:8080/);

  // Deleting the Service takes its Endpoints and slices with it.
  await send('DELETE', `${NS}/services/web`);
  await waitFor('endpoints gone', async () => (await api(lodge, 'GET', `${NS}/endpoints/web`)).status === 404);
  await waitFor('slices gone', async () => (await slices('web')).length === 0);
});

test('Instances are endpoints too; publishNotReadyAddresses; selectorless Endpoints are left alone', async () => {
  await send('POST', INST, { apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name: 'vm1', labels: { app: 'db' } }, spec: { type: 'container', image: 'busybox', nodeName: 'ghost' } });
  await send('POST', `${NS}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { selector: { app: 'db' }, clusterIP: 'None', ports: [{ port: 5432 }] } });
  await merge(`${INST}/vm1/status`, { status: { phase: 'Running', ip: '10.244.1.5', ips: ['10.244.1.5'], conditions: [{ type: 'Ready', status: 'False' }] } });
  let ep = await endpoints('db', (e) => ips(e.subsets?.[0]?.notReadyAddresses).join() === '10.244.1.5', 'instance not ready');
  assert.equal(ep.subsets[0].notReadyAddresses[0].targetRef.kind, 'Instance');
  assert.equal(ep.subsets[0].ports[0].port, 5432);
  assert.equal(ep.metadata.labels['service.kubernetes.io/headless'], '');
  await merge(`${INST}/vm1/status`, { status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  ep = await endpoints('db', (e) => ips(e.subsets?.[0]?.addresses).join() === '10.244.1.5', 'instance ready');
  await sliceEndpoints('db', (eps) => eps.length === 1 && eps[0].conditions.ready === true && eps[0].targetRef.kind === 'Instance', 'instance ready slice');

  // publishNotReadyAddresses: a not-ready backend is published as ready.
  await merge(`${INST}/vm1/status`, { status: { conditions: [{ type: 'Ready', status: 'False' }] } });
  await endpoints('db', (e) => ips(e.subsets?.[0]?.notReadyAddresses).length === 1, 'not ready again');
  await merge(`${NS}/services/db`, { spec: { publishNotReadyAddresses: true } });
  await endpoints('db', (e) => ips(e.subsets?.[0]?.addresses).join() === '10.244.1.5', 'published while not ready');
  await sliceEndpoints('db', (eps) => eps.length === 1 && eps[0].conditions.ready === true && eps[0].conditions.serving === false, 'ready by publishNotReadyAddresses');

  // A Service without selector: hand-written Endpoints stay as written.
  await send('POST', `${NS}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext' }, spec: { ports: [{ port: 443 }] } });
  await send('POST', `${NS}/endpoints`, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'ext' }, subsets: [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 443 }] }] });
  await new Promise((r) => setTimeout(r, 500));
  const ext = await get(`${NS}/endpoints/ext`);
  assert.deepEqual(ips(ext.subsets[0].addresses), ['192.0.2.1']);
  assert.equal(ext.metadata.ownerReferences, undefined);
  assert.equal((await slices('ext')).length, 0);
});

test('deleting a namespace releases the cluster IPs of its Services', async () => {
  await send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tmp' } });
  // The node port is allocated, not chosen: a fixed one could already be held by a Service of an earlier test.
  const s = await send('POST', '/api/v1/namespaces/tmp/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } });
  const ip = s.spec.clusterIP;
  const nodePort = s.spec.ports[0].nodePort;
  await send('DELETE', '/api/v1/namespaces/tmp');
  await waitFor('namespace gone', async () => (await api(lodge, 'GET', '/api/v1/namespaces/tmp')).status === 404, 30_000);
  const again = await send('POST', `${NS}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'reuse' }, spec: { type: 'NodePort', clusterIP: ip, ports: [{ port: 80, nodePort }] } });
  assert.equal(again.spec.clusterIP, ip);
  assert.equal(again.spec.ports[0].nodePort, nodePort);
});

test('kubectl expose a Pod creates a Service whose endpoints follow it', async () => {
  await pod('exp', { run: 'exp' }, [{ containerPort: 8080 }]);
  await podStatus('exp', '10.244.2.2', true);
  const r = kubectl(lodge, ['expose', 'pod', 'exp', '--port=81', '--target-port=8080']);
  assert.equal(r.code, 0, r.stderr);
  await endpoints('exp', (e) => ips(e.subsets?.[0]?.addresses).join() === '10.244.2.2' && e.subsets[0].ports[0].port === 8080, 'exposed pod');
});
