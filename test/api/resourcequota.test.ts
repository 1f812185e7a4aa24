// ResourceQuota and LimitRange at the API level, against a real SQLite store
// with the quota admission and controller wired as `lodge up` wires them:
// counts, compute requests, Kubernetes' refusal messages, concurrent creates
// against one quota, usage released on delete, Instances, LimitRange defaults
// and bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaValidator } from '../../src/api/admission/schema-validator.js';
import { installQuotaAdmission } from '../../src/api/admission/quota/install.js';
import { ResourceService, type WriteContext } from '../../src/api/resources/resource-service.js';
import { ApiError } from '../../src/api/status.js';
import { registry as defaultRegistry } from '../../src/apis/registry.js';
import type { KubeObject, ResourceType } from '../../src/apis/types.js';
import { runResourceQuotaController } from '../../src/controllers/resourcequota-controller.js';
import { InformerFactory } from '../../src/controllers/runtime/informer-factory.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { bootstrapNamespaces } from '../../src/up/bootstrap.js';
import type { Logger } from '../../src/util/log.js';

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet };
const write = (): WriteContext => ({ manager: 'test', fieldValidation: 'Strict', dryRun: false, warnings: [] });
const registry = defaultRegistry();
const rt = (g: string, v: string, p: string): ResourceType => registry.resource(g, v, p)!;
const PODS = rt('', 'v1', 'pods');
const QUOTAS = rt('', 'v1', 'resourcequotas');
const LIMITS = rt('', 'v1', 'limitranges');
const SECRETS = rt('', 'v1', 'secrets');
const INSTANCES = rt('lodge.dev', 'v1alpha1', 'instances');
const NAMESPACES = rt('', 'v1', 'namespaces');

interface Env {
  svc: ResourceService;
  ns: string;
}

async function withEnv(fn: (e: Env) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lodge-quota-'));
  const store = SqliteStore.open(join(dir, 'store.db'));
  const svc = new ResourceService(store, registry, new SchemaValidator(registry));
  const quota = installQuotaAdmission(svc, store);
  await bootstrapNamespaces(svc);
  await svc.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant' } }, write());
  const abort = new AbortController();
  const informers = new InformerFactory(svc, quiet, abort.signal);
  const controller = runResourceQuotaController({ svc, registry, informers, log: quiet, signal: abort.signal }, quota);
  try {
    await fn({ svc, ns: 'tenant' });
  } finally {
    abort.abort();
    await controller;
    await informers.stopped();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function pod(name: string, resources?: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'app', image: 'busybox', ...(resources ? { resources } : {}) }] } };
}

const createPod = (e: Env, name: string, resources?: Record<string, unknown>): Promise<unknown> => e.svc.create(PODS, e.ns, pod(name, resources), write());

async function createQuota(e: Env, name: string, hard: Record<string, string>): Promise<void> {
  await e.svc.create(QUOTAS, e.ns, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name }, spec: { hard } }, write());
}

async function refused(p: Promise<unknown>, code: number, message: RegExp): Promise<ApiError> {
  let caught: unknown;
  await p.then(
    () => assert.fail(`expected ${code}, the write succeeded`),
    (err: unknown) => (caught = err),
  );
  assert.ok(caught instanceof ApiError, `expected an ApiError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, message);
  return caught;
}

/** Poll the quota until its status.used matches `want` (level-triggered controller: it converges, with no promise of when). */
async function usedBecomes(e: Env, name: string, want: Record<string, string>): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 200; i++) {
    const q = (await e.svc.get(QUOTAS, e.ns, name)).obj;
    last = q.status?.used;
    if (JSON.stringify(last) === JSON.stringify(want)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(last, want, 'status.used did not converge');
}

test('counts: 20 concurrent pod creates against pods=5 admit exactly 5; the rest get 403 naming the quota', async () => {
  await withEnv(async (e) => {
    await createQuota(e, 'counts', { pods: '5', secrets: '10' });
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => createPod(e, `p${i}`)));
    const ok = results.filter((r) => r.status === 'fulfilled');
    assert.equal(ok.length, 5);
    for (const r of results) {
      if (r.status === 'fulfilled') continue;
      const err = r.reason as ApiError;
      assert.equal(err.code, 403);
      assert.equal(err.reason, 'Forbidden');
      assert.match(err.message, /^pods "p\d+" is forbidden: exceeded quota: counts, requested: pods=1, used: pods=5, limited: pods=5$/);
    }
    const stored = await e.svc.list(PODS, e.ns, {});
    assert.equal(stored.items.length, 5);
    await usedBecomes(e, 'counts', { pods: '5', secrets: '0' });
    const q = (await e.svc.get(QUOTAS, e.ns, 'counts')).obj;
    assert.deepEqual(q.status?.hard, { pods: '5', secrets: '10' });
    // Another namespace is another tenant: the quota does not reach it.
    await e.svc.create(PODS, 'default', pod('elsewhere'), write());
  });
});

test('usage is released on delete: status.used converges and a create fits again', async () => {
  await withEnv(async (e) => {
    await createQuota(e, 'q', { pods: '2' });
    await createPod(e, 'a');
    await createPod(e, 'b');
    await refused(createPod(e, 'c'), 403, /exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2/);
    await usedBecomes(e, 'q', { pods: '2' });
    await e.svc.delete(PODS, e.ns, 'a', {});
    await usedBecomes(e, 'q', { pods: '1' });
    await createPod(e, 'c');
    await usedBecomes(e, 'q', { pods: '2' });
  });
});

test('compute: a quota on requests needs them stated, and sums are enforced with the exceeded resources named', async () => {
  await withEnv(async (e) => {
    await createQuota(e, 'compute', { 'requests.cpu': '1', 'requests.memory': '1Gi', 'limits.memory': '2Gi' });
    await refused(createPod(e, 'bare'), 403, /^pods "bare" is forbidden: failed quota: compute: must specify limits\.memory for: app; requests\.cpu for: app; requests\.memory for: app$/);
    const res = { requests: { cpu: '400m', memory: '512Mi' }, limits: { memory: '1Gi' } };
    await createPod(e, 'one', res);
    await createPod(e, 'two', res);
    await refused(
      createPod(e, 'three', res),
      403,
      /^pods "three" is forbidden: exceeded quota: compute, requested: limits\.memory=1Gi,requests\.cpu=400m,requests\.memory=512Mi, used: limits\.memory=2Gi,requests\.cpu=800m,requests\.memory=1Gi, limited: limits\.memory=2Gi,requests\.cpu=1,requests\.memory=1Gi$/,
    );
    await usedBecomes(e, 'compute', { 'limits.memory': '2Gi', 'requests.cpu': '800m', 'requests.memory': '1Gi' });
  });
});

test('Instances count: count/instances.lodge.dev and their spec.cpu/memory as requests, also when resized', async () => {
  await withEnv(async (e) => {
    await createQuota(e, 'vms', { 'count/instances.lodge.dev': '2', 'requests.cpu': '3', 'requests.memory': '4Gi' });
    const inst = (name: string, cpu: number, memory: string): KubeObject => ({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name }, spec: { type: 'container', image: 'busybox', cpu, memory } });
    await e.svc.create(INSTANCES, e.ns, inst('a', 2, '1Gi'), write());
    await refused(e.svc.create(INSTANCES, e.ns, inst('b', 2, '1Gi'), write()), 403, /^instances\.lodge\.dev "b" is forbidden: exceeded quota: vms, requested: requests\.cpu=2, used: requests\.cpu=2, limited: requests\.cpu=3$/);
    await e.svc.create(INSTANCES, e.ns, inst('b', 1, '1Gi'), write());
    // Only the resources a request exceeds are named (memory still fits).
    await refused(
      e.svc.create(INSTANCES, e.ns, inst('c', 1, '1Gi'), write()),
      403,
      /^instances\.lodge\.dev "c" is forbidden: exceeded quota: vms, requested: count\/instances\.lodge\.dev=1,requests\.cpu=1, used: count\/instances\.lodge\.dev=2,requests\.cpu=3, limited: count\/instances\.lodge\.dev=2,requests\.cpu=3$/,
    );
    await usedBecomes(e, 'vms', { 'count/instances.lodge.dev': '2', 'requests.cpu': '3', 'requests.memory': '2Gi' });
    // Growing an Instance is charged for the growth: 3 + 1 more cpu exceeds 3.
    const b = (await e.svc.get(INSTANCES, e.ns, 'b')).obj;
    await refused(e.svc.update(INSTANCES, e.ns, 'b', { ...b, spec: { ...b.spec, memory: '2Gi', cpu: 2 } }, write()), 403, /exceeded quota: vms, requested: requests\.cpu=1, used: requests\.cpu=3, limited: requests\.cpu=3/);
    await e.svc.update(INSTANCES, e.ns, 'b', { ...b, spec: { ...b.spec, memory: '3Gi' } }, write());
    await usedBecomes(e, 'vms', { 'count/instances.lodge.dev': '2', 'requests.cpu': '3', 'requests.memory': '4Gi' });
  });
});

test('other kinds: secrets and count/<resource> quotas are enforced', async () => {
  await withEnv(async (e) => {
    await createQuota(e, 'objs', { secrets: '1', 'count/configmaps': '0' });
    await e.svc.create(SECRETS, e.ns, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1' } }, write());
    await refused(e.svc.create(SECRETS, e.ns, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's2' } }, write()), 403, /^secrets "s2" is forbidden: exceeded quota: objs, requested: secrets=1, used: secrets=1, limited: secrets=1$/);
    await refused(e.svc.create(rt('', 'v1', 'configmaps'), e.ns, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, write()), 403, /exceeded quota: objs, requested: count\/configmaps=1, used: count\/configmaps=0, limited: count\/configmaps=0/);
  });
});

test('LimitRange: container defaults are applied before quota, and min/max/ratio are refused in Kubernetes words', async () => {
  await withEnv(async (e) => {
    await e.svc.create(
      LIMITS,
      e.ns,
      {
        apiVersion: 'v1',
        kind: 'LimitRange',
        metadata: { name: 'bounds' },
        spec: { limits: [{ type: 'Container', max: { memory: '1Gi' }, min: { cpu: '100m' }, defaultRequest: { cpu: '200m', memory: '128Mi' }, maxLimitRequestRatio: { memory: '8' } }] },
      },
      write(),
    );
    // Defaulted: default limit from max (1Gi), defaultRequest as given.
    const lr = (await e.svc.get(LIMITS, e.ns, 'bounds')).obj;
    assert.deepEqual((lr.spec?.limits as Array<Record<string, unknown>>)[0].default, { memory: '1Gi' });
    await createQuota(e, 'compute', { 'requests.memory': '1Gi' });
    const p = (await e.svc.create(PODS, e.ns, pod('defaulted'), write())).obj;
    const c = (p.spec?.containers as Array<{ resources?: unknown }>)[0];
    assert.deepEqual(c.resources, { limits: { memory: '1Gi' }, requests: { cpu: '200m', memory: '128Mi' } });
    await usedBecomes(e, 'compute', { 'requests.memory': '128Mi' });
    await refused(createPod(e, 'big', { limits: { memory: '2Gi' } }), 403, /^pods "big" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi$/);
    await refused(createPod(e, 'tiny', { requests: { cpu: '50m' } }), 403, /^pods "tiny" is forbidden: minimum cpu usage per Container is 100m, but request is 50m$/);
    await refused(createPod(e, 'bursty', { requests: { memory: '64Mi' }, limits: { memory: '1Gi' } }), 403, /memory max limit to request ratio per Container is 8, but provided ratio is 16\.000000/);
    // A LimitRange that contradicts itself is invalid (422) naming the field.
    await refused(
      e.svc.create(LIMITS, e.ns, { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'bad' }, spec: { limits: [{ type: 'Pod', min: { cpu: '2' }, max: { cpu: '1' }, default: { cpu: '1' } }] } }, write()),
      422,
      /spec\.limits\[0\]\.default: Forbidden.*spec\.limits\[0\]\.min\[cpu\]: Invalid value/,
    );
  });
});

test('scopes: a quota charges only the Pods and Instances in its scopes, status.used counts only them, and bad scopes are 422', async () => {
  await withEnv(async (e) => {
    const scoped = (name: string, hard: Record<string, string>, scopes: Record<string, unknown>): Promise<unknown> =>
      e.svc.create(QUOTAS, e.ns, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name }, spec: { hard, ...scopes } }, write());
    await scoped('best-effort', { pods: '1' }, { scopes: ['BestEffort'] });
    await scoped('sized', { pods: '5', 'requests.cpu': '2' }, { scopeSelector: { matchExpressions: [{ scopeName: 'NotBestEffort', operator: 'Exists' }] } });
    await scoped('terminating', { pods: '1' }, { scopes: ['Terminating'] });
    await createPod(e, 'be1');
    await refused(createPod(e, 'be2'), 403, /^pods "be2" is forbidden: exceeded quota: best-effort, requested: pods=1, used: pods=1, limited: pods=1$/);
    // Sized Pods and Instances are NotBestEffort: "best-effort" leaves them alone.
    await createPod(e, 'web', { requests: { cpu: '500m' } });
    await e.svc.create(INSTANCES, e.ns, { apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name: 'box' }, spec: { type: 'container', image: 'busybox', cpu: '500m' } }, write());
    const job = (name: string): KubeObject => ({ ...pod(name, { requests: { cpu: '100m' } }), spec: { ...pod(name, { requests: { cpu: '100m' } }).spec, activeDeadlineSeconds: 60 } });
    await e.svc.create(PODS, e.ns, job('job1'), write());
    await refused(e.svc.create(PODS, e.ns, job('job2'), write()), 403, /exceeded quota: terminating, requested: pods=1, used: pods=1, limited: pods=1$/);
    await usedBecomes(e, 'best-effort', { pods: '1' });
    await usedBecomes(e, 'sized', { pods: '2', 'requests.cpu': '1100m' });
    await usedBecomes(e, 'terminating', { pods: '1' });

    await refused(scoped('bad1', { 'requests.cpu': '1' }, { scopes: ['BestEffort'] }), 422, /spec\.scopes: Invalid value.*unsupported scope applied to resource: BestEffort does not limit requests\.cpu/);
    await refused(scoped('bad2', { pods: '1' }, { scopes: ['CrossNamespacePodAffinity'] }), 422, /spec\.scopes\[0\]: Unsupported value: "CrossNamespacePodAffinity".*cross-namespace pod affinity is not supported by Lodge/);
    await refused(scoped('bad3', { pods: '1' }, { scopeSelector: { matchExpressions: [{ scopeName: 'Terminating', operator: 'In', values: ['x'] }] } }), 422, /spec\.scopeSelector\.matchExpressions\[0\]\.operator: Invalid value: "In": must be 'Exist'/);
    await refused(scoped('bad4', { pods: '1' }, { scopes: ['Terminating', 'NotTerminating'] }), 422, /spec\.scopes: Invalid value.*conflicting scopes/);
    const q = (await e.svc.get(QUOTAS, e.ns, 'terminating')).obj;
    await refused(e.svc.update(QUOTAS, e.ns, 'terminating', { ...q, spec: { ...q.spec, scopes: ['NotTerminating'] } }, write()), 422, /spec\.scopes: Invalid value.*field is immutable/);
  });
});

test('PriorityClass scope: In, NotIn, Exists and DoesNotExist on spec.priorityClassName, for Pods and Instances', async () => {
  await withEnv(async (e) => {
    const scoped = (name: string, hard: Record<string, string>, scopes: Record<string, unknown>): Promise<unknown> =>
      e.svc.create(QUOTAS, e.ns, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name }, spec: { hard, ...scopes } }, write());
    const expr = (operator: string, values?: string[]): Record<string, unknown> => ({ scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator, ...(values ? { values } : {}) }] } });
    await scoped('high-only', { pods: '1' }, expr('In', ['high']));
    await scoped('not-high', { pods: '2' }, expr('NotIn', ['high']));
    await scoped('any-class', { pods: '3' }, { scopes: ['PriorityClass'] });
    await scoped('no-class', { pods: '1' }, expr('DoesNotExist'));
    const classed = (name: string, cls?: string): KubeObject => ({ ...pod(name), spec: { ...pod(name).spec, ...(cls ? { priorityClassName: cls } : {}) } });
    await e.svc.create(PODS, e.ns, classed('h1', 'high'), write());
    await refused(e.svc.create(PODS, e.ns, classed('h2', 'high'), write()), 403, /^pods "h2" is forbidden: exceeded quota: high-only, requested: pods=1, used: pods=1, limited: pods=1$/);
    await e.svc.create(PODS, e.ns, classed('l1', 'low'), write());
    await e.svc.create(PODS, e.ns, classed('plain1'), write());
    await refused(e.svc.create(PODS, e.ns, classed('plain2'), write()), 403, /exceeded quota: no-class/);
    // Instances are in the scope by their class too.
    await scoped('no-high-instances', { 'count/instances.lodge.dev': '0' }, expr('In', ['high']));
    const inst = (name: string, cls: string): KubeObject => ({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name }, spec: { type: 'container', image: 'busybox', priorityClassName: cls } });
    await refused(e.svc.create(INSTANCES, e.ns, inst('box', 'high'), write()), 403, /^instances\.lodge\.dev "box" is forbidden: exceeded quota: no-high-instances/);
    await e.svc.create(INSTANCES, e.ns, inst('box', 'low'), write());
    await usedBecomes(e, 'high-only', { pods: '1' });
    await usedBecomes(e, 'not-high', { pods: '2' });
    await usedBecomes(e, 'any-class', { pods: '2' });
    await usedBecomes(e, 'no-class', { pods: '1' });
    await refused(scoped('bad', { pods: '1' }, expr('In')), 422, /values: Required value/);
  });
});

test('LimitRange lodge.dev/Instance: its default wins over the built-in one; min and max refuse in the limit ranger\'s words, naming the field', async () => {
  await withEnv(async (e) => {
    const limits = (name: string, item: Record<string, unknown>): Promise<unknown> =>
      e.svc.create(LIMITS, e.ns, { apiVersion: 'v1', kind: 'LimitRange', metadata: { name }, spec: { limits: [{ type: 'lodge.dev/Instance', ...item }] } }, write());
    await limits('sizes', { default: { cpu: '2', memory: '2Gi' }, min: { memory: '512Mi' }, max: { cpu: '4', memory: '4Gi' } });
    const inst = (name: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name }, spec: { image: 'busybox', ...spec } });
    const create = async (name: string, spec: Record<string, unknown>): Promise<KubeObject> => (await e.svc.create(INSTANCES, e.ns, inst(name, spec), write())).obj;
    const sizes = (o: KubeObject): string => `${String(o.spec?.cpu)}/${String(o.spec?.memory)}`;
    assert.equal(sizes(await create('vm-default', { type: 'vm' })), '2/2Gi', 'the LimitRange default, not the built-in 1/1Gi');
    assert.equal(sizes(await create('vm-own', { type: 'vm', cpu: 1, memory: '1Gi' })), '1/1Gi', 'values the user wrote are kept, even the built-in ones');
    assert.equal(sizes(await create('ct-default', { type: 'container' })), '2/2Gi');
    await refused(e.svc.create(INSTANCES, e.ns, inst('big', { type: 'vm', cpu: 8 }), write()), 403, /^instances\.lodge\.dev "big" is forbidden: maximum cpu usage per Instance is 4, but spec\.cpu is 8$/);
    await refused(e.svc.create(INSTANCES, e.ns, inst('small', { type: 'container', memory: '256Mi' }), write()), 403, /^instances\.lodge\.dev "small" is forbidden: minimum memory usage per Instance is 512Mi, but spec\.memory is 256Mi$/);
    // A resize is bounded too.
    const own = (await e.svc.get(INSTANCES, e.ns, 'vm-own')).obj;
    await refused(e.svc.update(INSTANCES, e.ns, 'vm-own', { ...own, spec: { ...own.spec, cpu: 6 } }, write()), 403, /maximum cpu usage per Instance is 4, but spec\.cpu is 6$/);
    await refused(limits('ratio', { maxLimitRequestRatio: { cpu: '2' } }), 422, /spec\.limits\[0\]\.maxLimitRequestRatio: Forbidden: may not be specified when `type` is 'lodge\.dev\/Instance'/);
    await refused(limits('disk', { max: { storage: '1Gi' } }), 422, /spec\.limits\[0\]\.max\[storage\]: Unsupported value: "storage"/);
    // A default is validated as if the user had written it: a VM needs whole vCPUs.
    await e.svc.delete(LIMITS, e.ns, 'sizes', {});
    await limits('half', { default: { cpu: '500m' } });
    await refused(e.svc.create(INSTANCES, e.ns, inst('vm-half', { type: 'vm' }), write()), 422, /spec\.cpu: Invalid value: "500m": a virtual machine needs a whole number of vCPUs \(the default of a LimitRange/);
  });
});
