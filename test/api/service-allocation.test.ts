// Service cluster IP and node port allocation at admission, against a real
// SQLite store: ranges, conflicts, release, restarts and concurrency.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaValidator } from '../../src/api/admission/schema-validator.js';
import { ServiceAllocator } from '../../src/api/allocation/service-allocator.js';
import { ResourceService, type WriteContext } from '../../src/api/resources/resource-service.js';
import { ApiError } from '../../src/api/status.js';
import { registry as defaultRegistry } from '../../src/apis/registry.js';
import type { KubeObject, ResourceType } from '../../src/apis/types.js';
import type { Service } from '../../src/apis/core/v1/types.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { bootstrapNamespaces } from '../../src/up/bootstrap.js';
import type { Logger } from '../../src/util/log.js';

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet };
const write = (): WriteContext => ({ manager: 'test', fieldValidation: 'Strict', dryRun: false, warnings: [] });

interface Env {
  svc: ResourceService;
  store: SqliteStore;
  allocator: ServiceAllocator;
  services: ResourceType;
  dir: string;
}

async function open(dir: string, o: { cidr?: string; ports?: string } = {}): Promise<Env> {
  const store = SqliteStore.open(join(dir, 'store.db'));
  const registry = defaultRegistry();
  const svc = new ResourceService(store, registry, new SchemaValidator(registry));
  const allocator = new ServiceAllocator(store, { serviceCIDR: o.cidr, nodePortRange: o.ports, log: quiet });
  await allocator.repair();
  const services = registry.resource('', 'v1', 'services')!;
  svc.useAllocator(services, allocator);
  await bootstrapNamespaces(svc);
  return { svc, store, allocator, services, dir };
}

async function withEnv(o: { cidr?: string; ports?: string }, fn: (e: Env) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lodge-svc-alloc-'));
  const env = await open(dir, o);
  try {
    await fn(env);
  } finally {
    await env.store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function service(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }], selector: { app: name }, ...spec } };
}

async function create(e: Env, name: string, spec: Record<string, unknown> = {}, ns = 'default'): Promise<Service> {
  return (await e.svc.create(e.services, ns, service(name, spec), write())).obj as Service;
}

async function rejects(p: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

test('cluster IPs come from the range, skip the reserved addresses, and run out with a clear error', async () => {
  // A /28: offsets 1-14 are usable; .1 (kubernetes) and .10 (DNS) are never handed out dynamically.
  await withEnv({ cidr: '10.0.0.0/28' }, async (e) => {
    const got = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const s = await create(e, `s${i}`);
      const ip = s.spec!.clusterIP!;
      assert.deepEqual(s.spec!.clusterIPs, [ip]);
      assert.deepEqual(s.spec!.ipFamilies, ['IPv4']);
      assert.equal(s.spec!.ipFamilyPolicy, 'SingleStack');
      const last = Number(ip.split('.')[3]);
      assert.ok(ip.startsWith('10.0.0.') && last >= 2 && last <= 14 && last !== 10, `unexpected ${ip}`);
      got.add(ip);
    }
    assert.equal(got.size, 12);
    await rejects(create(e, 'full'), 500, /range 10\.0\.0\.0\/28 is full/);
    // The reserved addresses can still be asked for by name, as the kubernetes and DNS Services do.
    assert.equal((await create(e, 'kubernetes', { clusterIP: '10.0.0.1' })).spec!.clusterIP, '10.0.0.1');
    assert.equal((await create(e, 'dns', { clusterIP: '10.0.0.10' })).spec!.clusterIP, '10.0.0.10');
    // Deleting a Service frees its address for the next one.
    const freed = (await e.svc.get(e.services, 'default', 's3')).obj as Service;
    await e.svc.delete(e.services, 'default', 's3', {});
    assert.equal((await create(e, 'after')).spec!.clusterIP, freed.spec!.clusterIP);
  });
});

test('a requested cluster IP must be inside the range and free', async () => {
  await withEnv({}, async (e) => {
    assert.equal((await create(e, 'a', { clusterIP: '10.96.5.5' })).spec!.clusterIP, '10.96.5.5');
    await rejects(create(e, 'b', { clusterIP: '10.96.5.5' }), 422, /spec\.clusterIPs.*failed to allocate IP 10\.96\.5\.5: provided IP is already allocated/);
    await rejects(create(e, 'c', { clusterIP: '192.168.1.1' }), 422, /the provided IP \(192\.168\.1\.1\) is not in the valid range\. The range of valid IPs is 10\.96\.0\.0\/12/);
    await rejects(create(e, 'd', { clusterIP: '10.96.0.0' }), 422, /not in the valid range/);
    // clusterIPs alone carries the request too.
    assert.equal((await create(e, 'e', { clusterIPs: ['10.96.7.7'] })).spec!.clusterIP, '10.96.7.7');
    // A refused create keeps nothing: the address it asked for is still free... and so are the dynamic ones it did not get to.
    await rejects(create(e, 'f', { clusterIP: '10.96.5.5', type: 'NodePort', ports: [{ port: 80, nodePort: 30100 }] }), 422, /already allocated/);
    assert.equal((await create(e, 'g', { type: 'NodePort', ports: [{ port: 80, nodePort: 30100 }] })).spec!.ports![0].nodePort, 30100);
    // Dry-run checks without reserving.
    const dry = await e.svc.create(e.services, 'default', service('h', { clusterIP: '10.96.8.8' }), { ...write(), dryRun: true });
    assert.equal((dry.obj as Service).spec!.clusterIP, '10.96.8.8');
    assert.equal((await create(e, 'h', { clusterIP: '10.96.8.8' })).spec!.clusterIP, '10.96.8.8');
  });
});

test('headless Services get no IP; clusterIP is kept on update and cannot change', async () => {
  await withEnv({}, async (e) => {
    const h = await create(e, 'h', { clusterIP: 'None' });
    assert.equal(h.spec!.clusterIP, 'None');
    assert.deepEqual(h.spec!.clusterIPs, ['None']);
    const h2 = await create(e, 'h2', { clusterIP: 'None', selector: undefined, ports: undefined });
    assert.equal(h2.spec!.ipFamilyPolicy, 'RequireDualStack');

    const s = await create(e, 's');
    const ip = s.spec!.clusterIP!;
    // A PUT without clusterIP (as from a manifest) keeps the allocated one.
    const put = await e.svc.update(e.services, 'default', 's', { ...service('s'), spec: { ports: [{ port: 81 }], selector: { app: 's' } } }, write());
    assert.equal((put.stored.obj as Service).spec!.clusterIP, ip);
    assert.deepEqual((put.stored.obj as Service).spec!.ipFamilies, ['IPv4']);
    await rejects(e.svc.update(e.services, 'default', 's', { ...service('s'), spec: { ports: [{ port: 81 }], clusterIP: '10.96.9.9' } }, write()), 422, /spec\.clusterIP.*field is immutable/);
    // To ExternalName and back: the IP is released, then a new one allocated.
    const ext = await e.svc.patch(e.services, 'default', 's', 'merge', { spec: { type: 'ExternalName', externalName: 'example.com' } }, { ...write(), force: false });
    assert.equal((ext.stored.obj as Service).spec!.clusterIP, undefined);
    assert.equal((await create(e, 'takes-old', { clusterIP: ip })).spec!.clusterIP, ip);
    const back = await e.svc.patch(e.services, 'default', 's', 'merge', { spec: { type: 'ClusterIP', externalName: null } }, { ...write(), force: false });
    const again = (back.stored.obj as Service).spec!.clusterIP!;
    assert.ok(again && again !== ip, `expected a fresh IP, got ${again}`);
  });
});

test('node ports: range, conflicts per port and protocol, kept on update, released on type change and delete', async () => {
  await withEnv({ ports: '30000-30009' }, async (e) => {
    const np = await create(e, 'np', { type: 'NodePort', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81, nodePort: 30005 }] });
    const auto = np.spec!.ports![0].nodePort!;
    assert.ok(auto >= 30000 && auto <= 30009 && auto !== 30005, `unexpected ${auto}`);
    assert.equal(np.spec!.ports![1].nodePort, 30005);
    await rejects(create(e, 'dup', { type: 'NodePort', ports: [{ port: 80, nodePort: 30005 }] }), 422, /spec\.ports\[0\]\.nodePort: Invalid value: 30005: provided port is already allocated/);
    await rejects(create(e, 'out', { type: 'NodePort', ports: [{ port: 80, nodePort: 31000 }] }), 422, /provided port is not in the valid range\. The range of valid ports is 30000-30009/);
    // The same port over UDP is another allocation.
    assert.equal((await create(e, 'udp', { type: 'NodePort', ports: [{ port: 53, protocol: 'UDP', nodePort: 30005 }] })).spec!.ports![0].nodePort, 30005);
    // TCP and UDP of one service port share a node port.
    const dns = await create(e, 'dns', { type: 'NodePort', ports: [{ name: 't', port: 53, protocol: 'TCP' }, { name: 'u', port: 53, protocol: 'UDP' }] });
    assert.equal(dns.spec!.ports![0].nodePort, dns.spec!.ports![1].nodePort);

    // An update that leaves nodePort unset keeps it.
    const put = await e.svc.update(e.services, 'default', 'np', { ...service('np'), spec: { type: 'NodePort', selector: { app: 'np' }, ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] } }, write());
    assert.deepEqual((put.stored.obj as Service).spec!.ports!.map((p) => p.nodePort), [auto, 30005]);
    // Type ClusterIP: node ports dropped and released.
    const cip = await e.svc.patch(e.services, 'default', 'np', 'merge', { spec: { type: 'ClusterIP' } }, { ...write(), force: false });
    assert.deepEqual((cip.stored.obj as Service).spec!.ports!.map((p) => p.nodePort), [undefined, undefined]);
    assert.equal((await create(e, 'reuse', { type: 'NodePort', ports: [{ port: 80, nodePort: 30005 }] })).spec!.ports![0].nodePort, 30005);
    // Delete releases.
    await e.svc.delete(e.services, 'default', 'reuse', {});
    assert.equal((await create(e, 'reuse2', { type: 'LoadBalancer', ports: [{ port: 80, nodePort: 30005 }] })).spec!.ports![0].nodePort, 30005);
    // A ClusterIP Service may not ask for a node port.
    await rejects(create(e, 'bad', { ports: [{ port: 80, nodePort: 30001 }] }), 422, /nodePort.*may not be used when `type` is 'ClusterIP'/);
  });
});

test('a restart keeps allocations; repair recreates missing ones and frees leaked ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lodge-svc-alloc-'));
  try {
    let e = await open(dir);
    const a = await create(e, 'a', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] });
    const b = await create(e, 'b');
    await e.store.close();

    e = await open(dir);
    await rejects(create(e, 'c', { clusterIP: a.spec!.clusterIP }), 422, /already allocated/);
    await rejects(create(e, 'd', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }), 422, /already allocated/);
    const fresh = await create(e, 'e');
    assert.ok(![a.spec!.clusterIP, b.spec!.clusterIP].includes(fresh.spec!.clusterIP));

    // A key lost (a Service stored before allocation existed) is recreated from the Service...
    await e.store.delete(`/registry/ranges/serviceips/${b.spec!.clusterIP}`);
    // ...and a key no Service holds (a crash between allocation and write) is freed once old enough.
    await e.store.create('/registry/ranges/serviceips/10.96.44.44', JSON.stringify({ namespace: 'default', name: 'gone', uid: 'x', allocatedAt: new Date(Date.now() - 3_600_000).toISOString() }));
    await e.store.create('/registry/ranges/serviceips/10.96.44.45', JSON.stringify({ namespace: 'default', name: 'inflight', uid: 'y', allocatedAt: new Date().toISOString() }));
    assert.deepEqual(await e.allocator.repair(), { created: 1, freed: 1 });
    await rejects(create(e, 'f', { clusterIP: b.spec!.clusterIP }), 422, /already allocated/);
    assert.equal((await create(e, 'g', { clusterIP: '10.96.44.44' })).spec!.clusterIP, '10.96.44.44');
    await rejects(create(e, 'h', { clusterIP: '10.96.44.45' }), 422, /already allocated/);
    await e.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('50 concurrent creates get 50 distinct IPs, in a wide range and in a crowded one', async () => {
  for (const cidr of ['10.96.0.0/12', '10.0.0.0/26']) {
    await withEnv({ cidr }, async (e) => {
      const created = await Promise.all(Array.from({ length: 50 }, (_, i) => create(e, `c${i}`)));
      const ips = new Set(created.map((s) => s.spec!.clusterIP));
      assert.equal(ips.size, 50, `${cidr}: ${[...ips].join(' ')}`);
      // Also concurrently asking for the same free address: exactly one wins.
      const target = ['10.96.0.99', '10.0.0.61', '10.0.0.62', '10.0.0.60'].find((ip) => ip.startsWith(cidr.slice(0, 5)) && !ips.has(ip)) ?? '10.0.0.1';
      const same = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => create(e, `same${i}`, { clusterIP: target })));
      assert.equal(same.filter((r) => r.status === 'fulfilled').length, 1, `${cidr}: requests for ${target}`);
    });
  }
});
