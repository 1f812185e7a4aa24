// lodge export / lodge import end to end against a real `lodge up`: a
// system container and a VM (busybox-vm under QEMU, TCG here), each with a
// change, a snapshot, another change; exported, deleted, imported — the
// current content and a restore of the snapshot (for the VM a stateful one
// too, resuming a counter that lived only in memory) are as they were. A
// running VM is refused with the reason; a garbage file imports nothing.
// Checks are on content and states, never timings (sizes and times are
// logged for the record).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { api, removeDir, waitFor } from './harness.js';
import { useWorkloadLodge } from './workload-lodge.js';

const t = useWorkloadLodge('lodge-exp-', `lodge-export-${process.pid}`);
const { instances, cli } = t;
const files = mkdtempSync(join(tmpdir(), 'lodge-exp-files-'));
after(() => removeDir(files));
const sh = (name: string, script: string): string => cli('exec', name, '--', 'sh', '-c', script).trim();
const INSTANCES = '/apis/lodge.dev/v1alpha1/namespaces/default/instances';

async function deleteAndWait(name: string): Promise<void> {
  cli('delete', name);
  await waitFor(`${name} gone`, async () => (await instances.get(name)) === undefined, 180_000);
}

describe('export and import', () => {
  test('a system container: current content, its snapshot, a whiteout of an image file', async () => {
    cli('launch', 'busybox', 'c1');
    sh('c1', 'echo one > /root/f');
    assert.match(cli('snapshot', 'create', 'c1', 's1', '--description', 'before two'), /created/);
    sh('c1', 'echo two > /root/f; touch /root/later; rm /bin/vi');
    const file = join(files, 'c1.tar');
    const out = cli('export', 'c1', file);
    assert.match(out, /exported to .*container, 1 snapshot/, out);
    process.stdout.write(`# container export: ${out}`);

    await deleteAndWait('c1');
    const imp = cli('import', file);
    assert.match(imp, /c1 imported[\s\S]*c1 running/, imp);
    await instances.get('c1');
    assert.equal(sh('c1', 'cat /root/f'), 'two');
    assert.equal(t.run(['exec', 'c1', '--', 'test', '-e', '/root/later']).code, 0);
    assert.equal(t.run(['exec', 'c1', '--', 'test', '-e', '/bin/vi']).code, 1, 'a deleted image file stays deleted (its whiteout survived)');
    const ls = cli('snapshot', 'ls', 'c1');
    assert.match(ls, /^s1\s+Ready\s+no\s/m, ls);
    const snap = (await api(t.lodge, 'GET', '/apis/lodge.dev/v1alpha1/namespaces/default/snapshots/c1.s1')).json();
    assert.equal(snap.spec.description, 'before two');
    assert.equal(snap.metadata.annotations?.['lodge.dev/importing'], undefined);

    assert.match(cli('snapshot', 'restore', 'c1', 's1'), /restored to s1/);
    assert.equal(sh('c1', 'cat /root/f'), 'one');
    assert.equal(t.run(['exec', 'c1', '--', 'test', '-e', '/root/later']).code, 1);
    assert.equal(t.run(['exec', 'c1', '--', 'test', '-e', '/bin/vi']).code, 0, 'the snapshot had the image file');

    // Under another name beside the original: its own instance, the same data.
    assert.match(cli('import', file, 'c1b'), /c1b imported/);
    await instances.get('c1b');
    assert.equal(sh('c1b', 'cat /root/f'), 'two');
    await deleteAndWait('c1b');
    await deleteAndWait('c1');
  });

  test('bad input: a garbage file and a garbage upload leave nothing', async () => {
    const garbage = join(files, 'garbage.tar');
    writeFileSync(garbage, Buffer.alloc(4096, 'x'));
    const r = t.run(['import', garbage, 'junk']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is not a Lodge export: not a tar archive/);
    assert.equal(await instances.get('junk'), undefined, 'no instance made');

    // The API refuses the same with a 400 naming the problem, and into an instance not made for an import with a 409.
    cli('launch', 'busybox', 'plain', '--run-strategy', 'Halted');
    await instances.waitFor('plain', 'bound', (i) => !!i.status?.nodeName);
    const notMarked = await api(t.lodge, 'POST', `${INSTANCES}/plain/import`, { body: Buffer.alloc(1024), contentType: 'application/x-tar' });
    assert.equal(notMarked.status, 409, notMarked.text);
    assert.match(notMarked.json().message, /lodge\.dev\/importing/);
    assert.equal((await api(t.lodge, 'PATCH', `${INSTANCES}/plain`, { body: JSON.stringify({ metadata: { annotations: { 'lodge.dev/importing': 'true' } } }), contentType: 'application/merge-patch+json' })).status, 200);
    const bad = await api(t.lodge, 'POST', `${INSTANCES}/plain/import`, { body: Buffer.alloc(8192, 'y'), contentType: 'application/x-tar' });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json().message, /not a Lodge export/);
    const dir = join(t.dataDir, 'instances', (await instances.get('plain')).metadata.uid);
    assert.equal(existsSync(join(dir, 'storage.json')), false, 'nothing written');
    await deleteAndWait('plain');
  });

  test('a VM: refused while running; stopped, exported with a disk and a stateful snapshot, imported, both restore', async () => {
    assert.match(cli('launch', 'busybox-vm', 'v1', '--vm', '--memory', '256MiB', '--timeout', '10m'), /running on/);
    sh('v1', 'echo one > /root/f; sync');
    cli('snapshot', 'create', 'v1', 's1');
    sh('v1', 'echo two > /root/f; sync');
    sh('v1', 'i=0; while :; do i=$((i+1)); echo $i > /run/count; sleep 0.2; done >/dev/null 2>&1 </dev/null &');
    await waitFor('counter running', async () => Number(sh('v1', 'cat /run/count')) > 3, 60_000);
    const bootAtLive = sh('v1', 'cat /proc/sys/kernel/random/boot_id');
    assert.match(cli('snapshot', 'create', 'v1', 'live', '--stateful', '--timeout', '10m'), /stateful/);
    const atSnapshot = Number(sh('v1', 'cat /run/count'));

    const file = join(files, 'v1.tar');
    const refused = t.run(['export', 'v1', file]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /running VM: stop it first \(lodge stop v1\)/);
    assert.equal(existsSync(file), false);

    cli('stop', 'v1', '--timeout', '5m');
    const out = cli('export', 'v1', file);
    assert.match(out, /exported to .*vm, 2 snapshot/, out);
    process.stdout.write(`# VM export: ${out}# VM export file: ${statSync(file).size} bytes\n`);
    const uid = (await instances.get('v1')).metadata.uid as string;
    assert.deepEqual(
      (await import('node:fs')).readdirSync(join(t.dataDir, 'instances', uid)).filter((f) => f.endsWith('.tmp')),
      [],
      'no temp files left in the instance dir',
    );

    await deleteAndWait('v1');
    const started = Date.now();
    const imp = cli('import', file, '--timeout', '10m');
    process.stdout.write(`# VM import: ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    // It was exported stopped (runStrategy Halted), so it comes back stopped.
    assert.match(imp, /v1 imported/, imp);
    assert.doesNotMatch(imp, /running/);
    assert.equal((await instances.waitFor('v1', 'Stopped', (i) => i.status?.phase === 'Stopped')).spec.runStrategy, 'Halted');
    cli('start', 'v1', '--timeout', '10m');
    assert.equal(sh('v1', 'cat /root/f'), 'two');
    assert.match(cli('snapshot', 'ls', 'v1'), /^live\s+Ready\s+yes\s/m);

    assert.match(cli('snapshot', 'restore', 'v1', 's1', '--timeout', '10m'), /restored to s1 \(disk restored\)/);
    assert.equal(sh('v1', 'cat /root/f'), 'one');

    assert.match(cli('snapshot', 'restore', 'v1', 'live', '--timeout', '10m'), /disk and memory state restored/);
    assert.equal(sh('v1', 'cat /proc/sys/kernel/random/boot_id'), bootAtLive, 'the same boot, brought back from the imported memory state');
    const restored = Number(sh('v1', 'cat /run/count'));
    assert.ok(restored >= atSnapshot - 1 && restored < atSnapshot + 15, `restored counter ${restored} continues from the snapshot's ${atSnapshot}`);
    await waitFor('restored counter runs', async () => Number(sh('v1', 'cat /run/count')) > restored + 3, 60_000);
    assert.equal(sh('v1', 'cat /root/f'), 'two');
    await deleteAndWait('v1');
  });
});
