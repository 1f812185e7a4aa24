// Snapshots, restores and copies of VMs, end to end against a real `lodge
// up` (busybox-vm under QEMU, TCG here): a disk snapshot of a running guest
// (it keeps running; file systems frozen through its guest agent), restore,
// a stateful snapshot whose restore continues a counter that ran only in
// memory, a linked copy from a snapshot with its own identity (host name,
// machine-id), the refusal to delete what a copy reads and --force, a
// snapshot of a stopped VM. Checks are on content and states, never timings.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { waitFor } from './harness.js';
import { useWorkloadLodge } from './workload-lodge.js';

const t = useWorkloadLodge('lodge-vs-', `lodge-vmsnap-${process.pid}`);
const { instances, cli, dataDir } = t;
const sh = (name: string, script: string): string => cli('exec', name, '--', 'sh', '-c', script).trim();

describe('snapshots of VMs', () => {
  test('disk snapshot of a running VM, restore, a stateful snapshot continuing a counter', async () => {
    assert.match(cli('launch', 'busybox-vm', 'v1', '--vm', '--memory', '256MiB', '--timeout', '10m'), /running on/);
    const bootId = sh('v1', 'cat /proc/sys/kernel/random/boot_id');
    sh('v1', 'echo one > /root/f; sync');
    const made = cli('snapshot', 'create', 'v1', 's1');
    assert.match(made, /file systems frozen through the guest agent/, made);
    assert.equal(sh('v1', 'cat /proc/sys/kernel/random/boot_id'), bootId, 'the guest kept running');
    sh('v1', 'echo two > /root/f; sync');

    assert.match(cli('snapshot', 'restore', 'v1', 's1'), /restored to s1 \(disk restored\)/);
    assert.equal(sh('v1', 'cat /root/f'), 'one');
    assert.notEqual(sh('v1', 'cat /proc/sys/kernel/random/boot_id'), bootId, 'a disk-only restore boots the snapshot');

    // A counter that lives only in the guest's memory (started by exec, in /tmp of a tmpfs or the root: either way not on boot).
    sh('v1', 'i=0; while :; do i=$((i+1)); echo $i > /run/count; sleep 0.2; done >/dev/null 2>&1 </dev/null &');
    await waitFor('counter running', async () => Number(sh('v1', 'cat /run/count')) > 3, 60_000);
    const boot2 = sh('v1', 'cat /proc/sys/kernel/random/boot_id');
    assert.match(cli('snapshot', 'create', 'v1', 'live', '--stateful'), /stateful/);
    const atSnapshot = Number(sh('v1', 'cat /run/count'));
    await waitFor('counter moves on', async () => Number(sh('v1', 'cat /run/count')) > atSnapshot + 15, 60_000);
    assert.match(cli('snapshot', 'restore', 'v1', 'live'), /disk and memory state restored/);
    const restored = Number(sh('v1', 'cat /run/count'));
    assert.ok(restored >= atSnapshot - 1 && restored < atSnapshot + 15, `restored counter ${restored} continues from the snapshot's ${atSnapshot}`);
    assert.equal(sh('v1', 'cat /proc/sys/kernel/random/boot_id'), boot2, 'the same boot, brought back');
    await waitFor('restored counter runs', async () => Number(sh('v1', 'cat /run/count')) > restored + 3, 60_000);
    assert.equal((await instances.get('v1')).status.restore.phase, 'Succeeded');
  });

  test('a linked copy from a snapshot has its own identity; what it reads cannot go until it is flattened', async () => {
    const v1mid = sh('v1', 'cat /etc/machine-id 2>/dev/null || true');
    assert.match(cli('copy', 'v1/s1', 'v2', '--timeout', '10m'), /v2 running/);
    assert.equal(sh('v2', 'cat /root/f'), 'one');
    assert.equal(sh('v2', 'hostname'), 'v2');
    const v2mid = sh('v2', 'cat /etc/machine-id');
    assert.match(v2mid, /^[0-9a-f]{32}$/);
    assert.notEqual(v2mid, v1mid, 'a machine-id of its own');
    sh('v2', 'echo mine > /root/f; sync');
    assert.equal(sh('v1', 'cat /root/f'), 'one', 'the copy writes its own disk only');

    const refused = t.run(['snapshot', 'rm', 'v1', 's1']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /v2/);
    assert.match(cli('snapshot', 'rm', 'v1', 's1', '--force', '--timeout', '10m'), /v2 flattened[\s\S]*deleted/);
    assert.equal(sh('v2', 'cat /root/f'), 'mine', 'a running copy flattened in place');
    cli('restart', 'v2', '--timeout', '10m');
    assert.equal(sh('v2', 'cat /root/f'), 'mine');
  });

  test('a snapshot of a stopped VM; restore keeps it stopped; deleting snapshots removes their layers', async () => {
    cli('stop', 'v1', '--timeout', '5m');
    cli('snapshot', 'create', 'v1', 'cold');
    cli('start', 'v1', '--timeout', '10m');
    sh('v1', 'echo later > /root/f; sync');
    cli('stop', 'v1', '--timeout', '5m');
    cli('snapshot', 'restore', 'v1', 'cold');
    assert.equal((await instances.get('v1')).status.phase, 'Stopped');
    cli('start', 'v1', '--timeout', '10m');
    assert.equal(sh('v1', 'cat /root/f'), 'one');
    const uid = (await instances.get('v1')).metadata.uid as string;
    for (const s of ['live', 'cold']) cli('snapshot', 'rm', 'v1', s);
    assert.equal(sh('v1', 'cat /root/f'), 'one', 'merging layers away keeps what the guest sees');
    assert.deepEqual(readdirSync(join(dataDir, 'instances', uid, 'snapshots')), []);
    assert.equal(readdirSync(join(dataDir, 'instances', uid, 'layers')).length, 1, 'only the top is left');
    for (const n of ['v2', 'v1']) cli('delete', n);
    await waitFor('instances gone', async () => (await instances.get('v1')) === undefined && (await instances.get('v2')) === undefined, 180_000);
  });
});
