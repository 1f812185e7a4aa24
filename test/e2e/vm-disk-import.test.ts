// A VM disk brought from elsewhere: `lodge image import DISK NAME --kernel K`
// takes a raw (or qcow2) disk with the kernel it boots with, the node
// converts it to qcow2 and reports the Image Ready, and an Instance boots
// from it under QEMU. The disk and kernel come from the busybox-vm image the
// node builds itself (converted to raw here), so nothing is downloaded but
// Debian's kernel package. QEMU is killed by pid in the after hook.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { api, removeDir, waitFor } from './harness.js';
import { useWorkloadLodge } from './workload-lodge.js';

const t = useWorkloadLodge('lodge-vmi-', `lodge-vmimp-${process.pid}`);
const { instances, cli, dataDir } = t;
const work = mkdtempSync(join(tmpdir(), 'lodge-vmi-files-'));
after(() => removeDir(work));

describe('VM disk import', () => {
  test('a raw disk with its kernel imports as an Image and an Instance boots from it', async () => {
    cli('image', 'build', 'busybox-vm');
    const built = join(dataDir, 'images', 'vm', 'busybox-vm');
    const manifest = JSON.parse(readFileSync(join(built, 'image.json'), 'utf8'));
    const raw = join(work, 'disk.raw');
    execFileSync('qemu-img', ['convert', '-O', 'raw', join(built, manifest.disk.file), raw]);

    // A qcow2 or raw disk needs its kernel: the error says so.
    const noKernel = t.run(['image', 'import', join(built, manifest.disk.file), 'nokernel']);
    assert.notEqual(noKernel.code, 0);
    assert.match(noKernel.stderr, /qcow2 VM disk: give the kernel it boots with, --kernel FILE/);

    const out = cli('image', 'import', raw, 'mydisk', '--kernel', join(built, manifest.kernel), '--initrd', join(built, manifest.initrd), '--cmdline', manifest.cmdline);
    assert.match(out, /image.lodge.dev\/mydisk ready: sha256:[0-9a-f]{64}/);
    const img = (await api(t.lodge, 'GET', '/apis/lodge.dev/v1alpha1/images/mydisk')).json();
    assert.equal(img.spec.type, 'vm');
    assert.equal(img.status.format, 'vm');
    const stored = join(dataDir, 'images', 'vm', 'mydisk', 'disk.qcow2');
    assert.match(execFileSync('qemu-img', ['info', stored], { encoding: 'utf8' }), /file format: qcow2/, 'stored as qcow2');

    cli('launch', 'mydisk', 'imp', '--vm', '--memory', '256MiB', '--timeout', '10m');
    const inst = await instances.get('imp');
    const log = join(dataDir, 'instances', inst.metadata.uid, 'console.log');
    await waitFor('the imported disk boots to userspace', async () => existsSync(log) && readFileSync(log, 'utf8').includes('LODGE-GUEST-READY'), 180_000);

    // In use: the Image cannot go; once the Instance is gone it can, and the node drops its copy.
    const refused = t.run(['image', 'rm', 'mydisk']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /image "mydisk" is in use by instance default\/imp/);
    cli('delete', 'imp');
    await waitFor('imp gone', async () => (await instances.get('imp')) === undefined, 120_000);
    cli('image', 'rm', 'mydisk');
    await waitFor('the node dropped the imported disk', async () => !existsSync(join(dataDir, 'images', 'vm', 'mydisk')), 60_000);
  });
});
