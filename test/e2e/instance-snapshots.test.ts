// Snapshots, restores and copies of system containers, end to end against
// a real `lodge up`: `lodge snapshot create|ls|restore|rm`, `lodge copy`
// (linked and --full), `lodge flatten`, the refusal to delete a snapshot
// that a linked copy reads (and --force), a stateful snapshot (CRIU) whose
// restore continues a running counter, and Snapshot objects through the API
// (kubectl's view). Checks are on content and states, never timings.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { api, kubectl, waitFor } from './harness.js';
import { useWorkloadLodge } from './workload-lodge.js';

const t = useWorkloadLodge('lodge-snap-', `lodge-snap-${process.pid}`);
const { instances, cli, dataDir } = t;
const read = (name: string, path: string): string => cli('exec', name, '--', 'cat', path).trim();
const write = (name: string, path: string, text: string): void => void cli('exec', name, '--', 'sh', '-c', `echo ${text} > ${path}`);

describe('snapshots of system containers', () => {
  test('snapshot a running and a stopped container, list, restore; Snapshot objects in the API', async () => {
    cli('launch', 'busybox', 'c1');
    write('c1', '/root/f', 'one');
    assert.match(cli('snapshot', 'create', 'c1', 's1'), /snapshot c1\/s1 created/);
    write('c1', '/root/f', 'two');
    cli('exec', 'c1', '--', 'touch', '/root/added-later');

    const ls = cli('snapshot', 'ls', 'c1');
    assert.match(ls, /^s1\s+Ready\s+no\s/m, ls);
    const obj = await api(t.lodge, 'GET', '/apis/lodge.dev/v1alpha1/namespaces/default/snapshots/c1.s1');
    assert.equal(obj.status, 200);
    const snap = obj.json() as { status: { phase: string; nodeName: string; instanceType: string; size: number }; metadata: { finalizers: string[]; ownerReferences: Array<{ kind: string; name: string }> } };
    assert.equal(snap.status.phase, 'Ready');
    assert.equal(snap.status.instanceType, 'container');
    assert.ok(snap.status.size > 0, 'a snapshot of the writable layer has a size');
    assert.deepEqual(snap.metadata.ownerReferences.map((o) => `${o.kind}/${o.name}`), ['Instance/c1']);

    const kube = kubectl(t.lodge, ['get', 'snapshots']);
    assert.equal(kube.code, 0, kube.stderr);
    assert.match(kube.stdout, /^c1\.s1\s+c1\s+false\s+Ready\s/m, kube.stdout);
    assert.match(cli('info', 'c1'), /Snapshots:\n\s+s1\s+Ready/);

    assert.match(cli('snapshot', 'restore', 'c1', 's1'), /restored to s1/);
    assert.equal(read('c1', '/root/f'), 'one');
    assert.equal(t.run(['exec', 'c1', '--', 'test', '-e', '/root/added-later']).code, 1, 'a file made after the snapshot is gone');
    assert.equal((await instances.get('c1')).status.restore.phase, 'Succeeded');

    cli('stop', 'c1');
    assert.match(cli('snapshot', 'create', 'c1', 'cold'), /created/);
    cli('start', 'c1');
    write('c1', '/root/f', 'three');
    cli('stop', 'c1');
    cli('snapshot', 'restore', 'c1', 'cold');
    assert.equal((await instances.get('c1')).status.phase, 'Stopped', 'a stopped instance stays stopped after a restore');
    cli('start', 'c1');
    assert.equal(read('c1', '/root/f'), 'one');

    // Bad input: a clear error, nothing half-made.
    const missing = t.run(['snapshot', 'restore', 'c1', 'nope']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /snapshot "nope" of instance "c1" not found/);
    const dup = t.run(['snapshot', 'create', 'c1', 's1']);
    assert.match(dup.stderr, /already has a snapshot "s1"/);
    const stoppedStateful = t.run(['snapshot', 'create', 'c0', 'x']);
    assert.match(stoppedStateful.stderr, /instance "c0" not found/);
  });

  test('copies: linked from a snapshot, full from the current state, new identity; a snapshot a copy reads is kept until --force flattens it', async () => {
    assert.match(cli('copy', 'c1/s1', 'c2'), /c2 running/);
    assert.equal(read('c2', '/root/f'), 'one');
    assert.equal(cli('exec', 'c2', '--', 'hostname').trim(), 'c2');
    const c2 = await instances.get('c2');
    assert.equal(c2.spec.source.instanceName, 'c1');
    assert.notEqual(c2.status.flattened, true, 'linked by default');

    write('c1', '/root/f', 'current');
    assert.match(cli('copy', 'c1', 'c3', '--full'), /c3 running/);
    assert.equal(read('c3', '/root/f'), 'current');
    assert.equal((await instances.get('c3')).status.flattened, true);
    // The copy writes its own layer only.
    write('c3', '/root/f', 'mine');
    assert.equal(read('c1', '/root/f'), 'current');

    const refused = t.run(['snapshot', 'rm', 'c1', 's1']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /c2/);
    assert.match(cli('snapshot', 'ls', 'c1'), /^s1\s+Ready/m, 'still there');
    const refusedSource = t.run(['delete', 'c1']);
    assert.notEqual(refusedSource.code, 0);
    assert.match(refusedSource.stderr, /instance default\/c2 \(a linked copy/);

    assert.match(cli('snapshot', 'rm', 'c1', 's1', '--force'), /c2 flattened[\s\S]*snapshot c1\/s1 deleted/);
    assert.equal((await instances.get('c2')).status.flattened, true);
    assert.equal(read('c2', '/root/f'), 'one');
    const c1uid = (await instances.get('c1')).metadata.uid as string;
    assert.deepEqual(readdirSync(join(dataDir, 'instances', c1uid, 'snapshots')).sort(), [await snapshotUid('c1.cold')], 'the deleted snapshot left no file');
  });

  test('stateful: a running counter continues from where the snapshot was', async () => {
    cli('launch', 'busybox', 'ctr');
    // A loop started by exec exists only in memory: a fresh boot would not run it.
    cli('exec', 'ctr', '--', 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done >/dev/null 2>&1 &');
    await waitFor('counter running', async () => Number(read('ctr', '/tmp/count')) > 5, 30_000);
    // The checkpoint is taken somewhere inside the command: the counter then lies between what it was before and after.
    const beforeSnapshot = Number(read('ctr', '/tmp/count'));
    const out = cli('snapshot', 'create', 'ctr', 'live', '--stateful');
    assert.match(out, /stateful/);
    const atSnapshot = Number(read('ctr', '/tmp/count'));
    await waitFor('counter moves on', async () => Number(read('ctr', '/tmp/count')) > atSnapshot + 20, 30_000);
    assert.match(cli('snapshot', 'restore', 'ctr', 'live'), /memory state restored/);
    const after1 = Number(read('ctr', '/tmp/count'));
    assert.ok(after1 >= beforeSnapshot && after1 < atSnapshot + 20, `restored counter ${after1} continues from the snapshot's ${beforeSnapshot}..${atSnapshot}`);
    await waitFor('restored counter runs', async () => Number(read('ctr', '/tmp/count')) > after1 + 3, 30_000);

    // A stopped container has no processes to save: a clear failure, the object says why.
    cli('stop', 'ctr');
    const r = t.run(['snapshot', 'create', 'ctr', 'nomem', '--stateful']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /stateful snapshot needs the instance running/);
  });

  test('deleting an instance deletes its snapshots and their data', async () => {
    for (const n of ['c2', 'c3', 'ctr', 'c1']) cli('delete', n);
    await waitFor('snapshots gone', async () => ((await api(t.lodge, 'GET', '/apis/lodge.dev/v1alpha1/namespaces/default/snapshots')).json() as { items: unknown[] }).items.length === 0, 120_000);
    assert.equal(existsSync(join(dataDir, 'instances')) ? readdirSync(join(dataDir, 'instances')).length : 0, 0);
  });
});

async function snapshotUid(name: string): Promise<string> {
  const r = await api(t.lodge, 'GET', `/apis/lodge.dev/v1alpha1/namespaces/default/snapshots/${name}`);
  return (r.json() as { metadata: { uid: string } }).metadata.uid;
}
