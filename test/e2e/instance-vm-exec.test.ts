// `lodge exec` in a VM Instance, end to end: a real `lodge up` launches
// busybox-vm under QEMU and the CLI runs commands in it through the guest
// agent (qemu-ga on virtio-serial): output, stderr apart, exit codes, stdin.
// Checks are on output and exit codes, never timings. QEMU is killed by pid
// in the after hook whatever happened; the data dir goes with it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { api, waitFor } from './harness.js';
import { instanceCgroups } from './instance-fixture.js';
import { useWorkloadLodge } from './workload-lodge.js';

const t = useWorkloadLodge('lodge-vmx-', `lodge-vmexec-${process.pid}`);
const { instances, cli, qemuPid, dataDir } = t;
const lodgeRun = (args: string[], input?: string): ReturnType<typeof t.run> => t.run(args, input);

describe('lodge exec in a VM', () => {
  test('runs commands through the guest agent: output, stderr apart, exit codes, stdin; a terminal is refused with a pointer to the console', async () => {
    // The first launch also builds the image (the .debs are cached per machine); under TCG a boot takes seconds.
    assert.match(cli('launch', 'busybox-vm', 'v', '--vm', '--memory', '256MiB', '--timeout', '10m'), /instance.lodge.dev\/v running on/);
    const uid = (await instances.get('v')).metadata.uid as string;

    // The guest may still be booting: exec waits for its agent (bounded) rather than failing.
    assert.equal(cli('exec', 'v', '--', 'hostname'), 'v\n');

    const failed = lodgeRun(['exec', 'v', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(failed.code, 3, failed.stderr);
    assert.equal(failed.stdout, 'out\n');
    assert.match(failed.stderr, /^err$/m);

    const cat = lodgeRun(['exec', '-i', 'v', '--', 'cat'], 'through stdin\n');
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'through stdin\n');

    // The CLI drops -t when its stdin is no terminal (as kubectl does), so ask the API directly.
    const tty = await api(t.lodge, 'GET', '/apis/lodge.dev/v1alpha1/namespaces/default/instances/v/exec?command=sh&stdin=true&stdout=true&tty=true');
    assert.equal(tty.status, 400, tty.text);
    assert.match(tty.text, /lodge console v/);

    cli('delete', 'v');
    await waitFor('v gone', async () => (await instances.get('v')) === undefined, 120_000);
    assert.equal(qemuPid(uid), undefined, 'QEMU ended');
    assert.equal(existsSync(join(dataDir, 'runtime', 'vms', `i-${uid}`)), false, 'state dir and sockets removed');
    assert.deepEqual(instanceCgroups(uid), []);
  });
});
