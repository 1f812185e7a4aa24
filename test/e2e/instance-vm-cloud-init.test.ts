// Cloud-init style first-boot configuration of a VM, end to end: a real
// `lodge up` launches busybox-vm with a host name, a user with an SSH key and
// a user-data script; the guest reads its NoCloud seed disk (cidata) and
// applies it once per instance-id. Checked through `lodge exec` (the guest
// agent), never by timings. QEMU is killed by pid in the after hook whatever
// happened; the data dir goes with it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { waitFor } from './harness.js';
import { instanceCgroups } from './instance-fixture.js';
import { useWorkloadLodge } from './workload-lodge.js';

const t = useWorkloadLodge('lodge-vci-', `lodge-vmci-${process.pid}`);
const { instances, cli, qemuPid, dataDir } = t;
const lodgeRun = (args: string[]): ReturnType<typeof t.run> => t.run(args);
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl t@x';

describe('cloud-init style configuration of a VM', () => {
  test('host name, a user with an SSH key and a user-data script from the seed disk, applied once per instance', async () => {
    const script = join(dataDir, 'script.sh');
    writeFileSync(script, '#!/bin/sh\necho ran >> /root/ran\n');
    // The first launch also builds the image (the .debs are cached per machine); under TCG a boot takes seconds.
    const out = cli('launch', 'busybox-vm', 'c1', '--vm', '--memory', '256MiB', '--hostname', 'web1', '--user', 'alice', '--ssh-key', KEY, '--user-data', script, '--timeout', '10m');
    assert.match(out, /instance.lodge.dev\/c1 running on/);
    const uid = (await instances.get('c1')).metadata.uid as string;
    const log = join(dataDir, 'instances', uid, 'console.log');
    const consoleText = (): string => (existsSync(log) ? readFileSync(log, 'utf8') : '');
    const count = (s: string): number => consoleText().split(s).length - 1;

    // exec waits for the guest agent, which rcS starts after the configuration is applied.
    assert.equal(cli('exec', 'c1', '--', 'hostname'), 'web1\n');
    assert.equal(cli('exec', 'c1', '--', 'cat', '/etc/hostname'), 'web1\n');
    assert.match(cli('exec', 'c1', '--', 'id', 'alice'), /^uid=1000\(alice\) gid=1000\(alice\)/);
    assert.equal(cli('exec', 'c1', '--', 'cat', '/home/alice/.ssh/authorized_keys'), `${KEY}\n`);
    assert.equal(cli('exec', 'c1', '--', 'stat', '-c', '%a %U %G', '/home/alice/.ssh/authorized_keys', '/home/alice/.ssh'), '600 alice alice\n700 alice alice\n');
    // The script runs after boot (init's once action), so wait for it rather than assume it is done.
    await waitFor('the user-data script finished', async () => consoleText().includes('lodge: user-data finished (exit 0)'), 180_000);
    assert.equal(cli('exec', 'c1', '--', 'cat', '/root/ran'), 'ran\n');
    assert.equal(count('lodge: first-boot configuration applied'), 1);

    // A reboot inside the guest keeps its disk (same QEMU, same overlay): the instance-id marker there stops a second run.
    const boots = count('LODGE-GUEST-READY');
    const pid = qemuPid(uid);
    cli('exec', 'c1', '--', 'sh', '-c', '(sleep 1; reboot) </dev/null >/dev/null 2>&1 &');
    await waitFor('the guest booted again', async () => count('LODGE-GUEST-READY') > boots, 180_000);
    assert.equal(qemuPid(uid), pid, 'a guest reboot, not a new QEMU');
    assert.equal(cli('exec', 'c1', '--', 'cat', '/root/ran'), 'ran\n', 'the script ran once');
    assert.equal(count('lodge: first-boot configuration applied'), 1, 'configuration applied once');
    assert.equal(count('lodge: user-data finished'), 1);
    assert.equal(cli('exec', 'c1', '--', 'hostname'), 'web1\n');

    // lodge restart: a new QEMU. The guest is configured as before and the script has run exactly once on its disk.
    // (Today a VM's root overlay does not outlive its QEMU, so this boot starts from the image again: see the VM driver.)
    assert.match(cli('restart', 'c1', '--timeout', '10m'), /running/);
    assert.equal(cli('exec', 'c1', '--', 'hostname'), 'web1\n');
    assert.equal(cli('exec', 'c1', '--', 'cat', '/home/alice/.ssh/authorized_keys'), `${KEY}\n`);
    await waitFor('the user-data script settled after the restart', async () => {
      const r = lodgeRun(['exec', 'c1', '--', 'sh', '-c', 'test -e /var/lib/lodge/user-data.done && cat /root/ran']);
      return r.code === 0 ? r.stdout : undefined;
    }, 180_000);
    assert.equal(cli('exec', 'c1', '--', 'cat', '/root/ran'), 'ran\n', 'one line after the restart');

    cli('delete', 'c1');
    await waitFor('c1 gone', async () => (await instances.get('c1')) === undefined, 120_000);
    assert.equal(qemuPid(uid), undefined, 'QEMU ended');
    assert.equal(existsSync(join(dataDir, 'runtime', 'vms', `i-${uid}`)), false, 'state dir and sockets removed');
    assert.equal(existsSync(join(dataDir, 'instances', uid)), false, 'the seed disk went with the instance dir');
    assert.deepEqual(instanceCgroups(uid), []);
  });
});
