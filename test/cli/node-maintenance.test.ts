// Unit tests of `lodge drain`'s parts: kubectl's Pod filters and wording,
// the eviction loop (429 retried, uid-checked waits, the global timeout)
// against a fake API, and flag parsing. The end-to-end drain is in
// test/e2e/lodge-drain.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Pod } from '../../src/apis/core/v1/types.js';
import type { Instance } from '../../src/apis/lodge/v1alpha1/instance-types.js';
import { ApiError } from '../../src/client/errors.js';
import { evictOrDeletePods, type EvictOptions, type Output, type PodApi } from '../../src/cli/drain/evict.js';
import { deletionErrors, deletionWarnings, podsForDeletion, podsToDelete, type FilterOptions } from '../../src/cli/drain/filters.js';
import { formatGoDuration } from '../../src/cli/drain/go-duration.js';
import { instanceRefusal, needsStop } from '../../src/cli/drain/instances.js';
import { stopPatch } from '../../src/cli/instance-stop-patch.js';
import { parseDryRun } from '../../src/cli/node-maintenance.js';

const owner = (kind: string, name: string) => [{ apiVersion: 'apps/v1', kind, name, uid: `${name}-uid`, controller: true }];
const pod = (name: string, extra: { owner?: string; ownerName?: string; emptyDir?: boolean; phase?: string; mirror?: boolean; uid?: string } = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: 'ns',
    uid: extra.uid ?? `${name}-uid`,
    ...(extra.owner ? { ownerReferences: owner(extra.owner, extra.ownerName ?? `${name}-owner`) } : {}),
    ...(extra.mirror ? { annotations: { 'kubernetes.io/config.mirror': 'x' } } : {}),
  },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...(extra.emptyDir ? { volumes: [{ name: 'scratch', emptyDir: {} }] } : {}) },
  status: { phase: extra.phase ?? 'Running' },
});

const opts = (o: Partial<FilterOptions> = {}): FilterOptions => ({ ignoreDaemonSets: false, deleteEmptyDirData: false, force: false, ...o });
const dsExists = async (): Promise<'found'> => 'found';

describe('drain filters (kubectl wording)', () => {
  const pods = [
    pod('rs-1', { owner: 'ReplicaSet' }),
    pod('ds-1', { owner: 'DaemonSet' }),
    pod('ds-2', { owner: 'DaemonSet' }),
    pod('bare'),
    pod('scratch', { owner: 'ReplicaSet', emptyDir: true }),
    pod('mirror', { mirror: true }),
    pod('done', { phase: 'Succeeded' }),
    pod('ds-done', { owner: 'DaemonSet', phase: 'Failed' }),
  ];

  test('without flags: one refusal per reason, naming every Pod', async () => {
    const list = await podsForDeletion(pods, opts(), dsExists);
    assert.deepEqual(deletionErrors(list), [
      'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ns/ds-1, ns/ds-2',
      'cannot delete Pods that declare no controller (use --force to override): ns/bare',
      'cannot delete Pods with local storage (use --delete-emptydir-data to override): ns/scratch',
    ]);
  });

  test('with the flags: DaemonSet and mirror Pods skipped, finished Pods deleted, warnings as kubectl prints them', async () => {
    const list = await podsForDeletion(pods, opts({ ignoreDaemonSets: true, deleteEmptyDirData: true, force: true }), dsExists);
    assert.deepEqual(deletionErrors(list), []);
    assert.deepEqual(podsToDelete(list).map((p) => p.metadata.name), ['rs-1', 'bare', 'scratch', 'done', 'ds-done']);
    // The local-storage warning is kept (kubectl loses it to the next filter's verdict).
    assert.equal(deletionWarnings(list), 'ignoring DaemonSet-managed Pods: ns/ds-1, ns/ds-2; deleting Pods that declare no controller: ns/bare; deleting Pods with local storage: ns/scratch');
  });

  test('a Pod of a DaemonSet that is gone is refused, and deleted with a warning under --force', async () => {
    const orphan = [pod('ds-x', { owner: 'DaemonSet', ownerName: 'gone' })];
    const lookup = async (): Promise<'not-found'> => 'not-found';
    assert.deepEqual(deletionErrors(await podsForDeletion(orphan, opts({ ignoreDaemonSets: true }), lookup)), ['cannot delete daemonsets.apps "gone" not found: ns/ds-x']);
    const forced = await podsForDeletion(orphan, opts({ force: true }), lookup);
    assert.deepEqual(podsToDelete(forced).map((p) => p.metadata.name), ['ds-x']);
    assert.equal(deletionWarnings(forced), 'daemonsets.apps "gone" not found: ns/ds-x');
  });
});

/** A fake API: each Pod answers the scripted eviction results in turn, then is gone (or replaced by a new uid). */
function fakeApi(script: Record<string, Array<'ok' | 429 | 500 | 404>>, after: 'gone' | 'replaced' = 'gone'): PodApi & { calls: string[] } {
  const evicted = new Set<string>();
  const calls: string[] = [];
  return {
    calls,
    async evict(p, options) {
      const name = String(p.metadata.name);
      calls.push(`evict ${name} ${JSON.stringify(options)}`);
      const next = script[name]?.shift() ?? 'ok';
      if (next === 429) throw new ApiError(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.");
      if (next === 500) throw new ApiError(500, 'InternalError', 'boom');
      if (next === 404) throw new ApiError(404, 'NotFound', `pods "${name}" not found`);
      evicted.add(name);
    },
    async delete(p, options) {
      calls.push(`delete ${p.metadata.name} ${JSON.stringify(options)}`);
      evicted.add(String(p.metadata.name));
    },
    async get(_ns, name) {
      if (!evicted.has(name)) return pod(name);
      return after === 'replaced' ? pod(name, { uid: 'another' }) : undefined;
    },
  };
}

function capture(): Output & { lines: string[]; errs: string[] } {
  const lines: string[] = [];
  const errs: string[] = [];
  return { lines, errs, out: (l) => lines.push(l), err: (l) => errs.push(l) };
}

const evictOpts = (o: Partial<EvictOptions> = {}): EvictOptions => ({ gracePeriodSeconds: -1, disableEviction: false, serverDryRun: false, deadline: Infinity, timeoutMs: 0, retryMs: 5, pollMs: 5, ...o });

describe('drain eviction loop', () => {
  test('an eviction answered 429 is retried with kubectl\'s message until allowed; the Pod is then waited for', async () => {
    const api = fakeApi({ a: [429, 429, 'ok'] });
    const out = capture();
    const errors = await evictOrDeletePods(api, [pod('a'), pod('b')], evictOpts({ gracePeriodSeconds: 7 }), out);
    assert.deepEqual(errors, []);
    assert.equal(out.lines.filter((l) => l === 'evicting pod ns/a').length, 3);
    assert.ok(out.lines.includes('pod/a evicted') && out.lines.includes('pod/b evicted'), out.lines.join('\n'));
    assert.equal(out.errs.length, 2);
    assert.equal(out.errs[0], 'error when evicting pods/"a" -n "ns" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.');
    assert.equal(api.calls[0], 'evict a {"gracePeriodSeconds":7}');
  });

  test('a Pod replaced by one of the same name (another uid) counts as gone; one already gone is fine', async () => {
    const out = capture();
    assert.deepEqual(await evictOrDeletePods(fakeApi({ c: [404] }, 'replaced'), [pod('a'), pod('c')], evictOpts(), out), []);
    assert.ok(out.lines.includes('pod/a evicted'));
    assert.ok(!out.lines.includes('pod/c evicted'));
  });

  test('other failures end that Pod\'s eviction with kubectl\'s message; the others still go', async () => {
    const out = capture();
    const errors = await evictOrDeletePods(fakeApi({ a: [500] }), [pod('a'), pod('b')], evictOpts(), out);
    assert.deepEqual(errors, ['error when evicting pods/"a" -n "ns": boom']);
    assert.ok(out.lines.includes('pod/b evicted'));
  });

  test('--timeout ends the retries: "global timeout reached"', async () => {
    const out = capture();
    const errors = await evictOrDeletePods(fakeApi({ a: Array(10_000).fill(429) }), [pod('a')], evictOpts({ deadline: Date.now() + 50, timeoutMs: 50 }), out);
    assert.deepEqual(errors, ['error when evicting pods/"a" -n "ns": global timeout reached: 50ms']);
  });

  test('--disable-eviction deletes, and --dry-run=server neither waits nor needs the Pods gone', async () => {
    const api = fakeApi({});
    const out = capture();
    assert.deepEqual(await evictOrDeletePods(api, [pod('a')], evictOpts({ disableEviction: true, gracePeriodSeconds: 0 }), out), []);
    assert.deepEqual(api.calls, ['delete a {"gracePeriodSeconds":0}']);
    assert.deepEqual(out.lines, ['pod/a deleted']);
    const dry = capture();
    const api2 = fakeApi({});
    assert.deepEqual(await evictOrDeletePods(api2, [pod('a')], evictOpts({ serverDryRun: true }), dry), []);
    assert.deepEqual(api2.calls, ['evict a {"dryRun":["All"]}']);
    assert.deepEqual(dry.lines, ['evicting pod ns/a (server dry run)']);
  });
});

describe('drain parts', () => {
  test('Go durations in messages', () => {
    assert.deepEqual([0, 50, 5000, 90_000, 3_600_000, 1500].map(formatGoDuration), ['0s', '50ms', '5s', '1m30s', '1h0m0s', '1.5s']);
  });

  test('--dry-run values as kubectl takes them', () => {
    assert.deepEqual([undefined, true, 'none', 'client', 'server'].map((v) => parseDryRun(v)), ['none', 'client', 'none', 'client', 'server']);
    assert.throws(() => parseDryRun('maybe'), /Invalid dry-run value \(maybe\)/);
  });

  test('Instances: the refusal names them; the stop is lodge stop\'s edit', () => {
    const inst = (name: string, runStrategy?: string): Instance => ({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name, namespace: 'default' }, spec: { runStrategy } });
    const all = [inst('a', 'Always'), inst('b'), inst('c', 'Halted')];
    assert.deepEqual(all.filter(needsStop).map((i) => i.metadata.name), ['a', 'b']);
    assert.equal(instanceRefusal('n1', all.filter(needsStop)), 'cannot drain: 2 instance(s) run on n1 and cannot be migrated yet: default/a, default/b; stop them or pass --stop-instances');
    assert.equal(instanceRefusal('n1', []), undefined);
    assert.deepEqual(stopPatch(inst('a', 'RerunOnFailure'), -1), { metadata: { annotations: { 'lodge.dev/stopGracePeriodSeconds': null, 'lodge.dev/lastRunStrategy': 'RerunOnFailure' } }, spec: { runStrategy: 'Halted' } });
    assert.deepEqual(stopPatch(inst('b'), 0).metadata, { annotations: { 'lodge.dev/stopGracePeriodSeconds': '0', 'lodge.dev/lastRunStrategy': 'Always' } });
  });
});
