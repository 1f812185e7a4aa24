// VM images from Debian packages, end to end: the kernel .deb fetched once
// per machine (LODGE_DEB_CACHE or /var/cache/lodge/debs), busybox-vm built,
// then booted under TCG with a raw QEMU command: the ready marker appears, a
// file written on the console survives an ACPI power-off (QMP
// system_powerdown, which acpid must turn into a clean shutdown) and a second
// boot from the same overlay. QEMU is killed by PID in every finally.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_BOOT_PROFILE, hostTscKhz, profileCmdline } from '../../src/agent/images/vm/boot-profile.js';
import { GUEST_READY_MARKER } from '../../src/agent/images/vm/busybox-vm.js';
import { cpioNewc } from '../../src/agent/images/vm/cpio.js';
import { DEFAULT_DEB_CACHE } from '../../src/agent/images/vm/debs.js';
import { hasPvhEntry } from '../../src/agent/images/vm/elf.js';
import { decodeLz4Legacy } from '../../src/agent/images/vm/lz4-legacy.js';
import { RawVm, qmpCommand } from '../../src/agent/images/vm/raw-boot.js';
import { VmImages, type VmImage } from '../../src/agent/images/vm/vm-images.js';

let base = '';
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'lodge-vm-images-test-'));
});
after(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

const hasTool = (t: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe('VM image building blocks', () => {
  it('writes a newc cpio that cpio(1) lists, device node included', { skip: !hasTool('cpio') && 'no cpio' }, async () => {
    const archive = cpioNewc([
      { path: 'dev', type: 'dir' },
      { path: 'dev/console', type: 'char', major: 5, minor: 1 },
      { path: 'init', type: 'file', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
      { path: 'sh', type: 'symlink', target: 'busybox' },
    ]);
    const file = join(base, 'a.cpio');
    await writeFile(file, archive);
    const listing = execFileSync('cpio', ['-itv', '-F', file], { stderr: 'ignore' } as never).toString();
    assert.match(listing, /^crw-------.* 5,\s*1 .*dev\/console$/m);
    assert.match(listing, /^-rwxr-xr-x.* init$/m);
    assert.match(listing, /^lrwxrwxrwx.* sh -> busybox$/m);
  });

  it('decodes LZ4 legacy frames as lz4 -l writes them, trailer ignored', { skip: !hasTool('lz4') && 'no lz4' }, async () => {
    // Repetitive and random parts: long matches, overlapping matches, literals; > 8 MiB for two blocks.
    const data = Buffer.concat([Buffer.alloc(3 << 20, 'abcab'), Buffer.from(Array.from({ length: 6 << 20 }, (_, i) => (i * 2654435761) >>> 27)), Buffer.from('end')]);
    const raw = join(base, 'lz4-in');
    await writeFile(raw, data);
    const compressed = execFileSync('lz4', ['-l', '-c', '-q', raw]);
    const size = Buffer.alloc(4);
    size.writeUInt32LE(data.length);
    assert.ok(decodeLz4Legacy(Buffer.concat([compressed, size])).equals(data));
  });

  it('finds the boot profile command line with the host TSC', () => {
    assert.equal(hostTscKhz('cpu MHz\t\t: 2599.998\n'), 2599998);
    assert.match(profileCmdline(DEFAULT_BOOT_PROFILE, 1000), /\bquiet\b.*tsc_early_khz=1000$/);
  });
});

describe('busybox-vm', { skip: (!hasTool('qemu-system-x86_64') || !hasTool('apt-get')) && 'needs qemu-system-x86_64 and apt' }, () => {
  let images: VmImages;
  let img: VmImage;

  before(async () => {
    images = await VmImages.open(join(base, 'images'), { debCache: process.env.LODGE_DEB_CACHE ?? DEFAULT_DEB_CACHE });
    // Two concurrent callers share one build.
    const [a, b] = await Promise.all([images.ensure('busybox-vm'), images.ensure('busybox-vm')]);
    assert.deepEqual(a, b);
    img = a;
  });

  it('is built once, from a PVH vmlinux, an initramfs and a qcow2 disk', async () => {
    assert.ok(hasPvhEntry(await readFile(img.kernel)), `${img.kernel} has no PVH entry note`);
    assert.match(img.digest, /^sha256:[0-9a-f]{64}$/);
    assert.match(img.cmdline, /root=\/dev\/vda/);
    assert.doesNotMatch(img.cmdline, /console=/);
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', img.disk.path]).toString()) as { format: string };
    assert.equal(info.format, 'qcow2');
    assert.deepEqual(await images.ensure('busybox-vm'), img);
    assert.deepEqual((await images.list()).map((i) => i.name), ['busybox-vm']);
  });

  it('boots under TCG, keeps a file across an ACPI power-off and a second boot', async () => {
    const overlay = join(base, 'overlay.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', img.disk.path, overlay]);
    const qmp = join(base, 'qmp.sock');
    const boot = (): RawVm =>
      RawVm.start({
        kernel: img.kernel,
        initrd: img.initrd,
        cmdline: `${img.cmdline} console=ttyS0 ${profileCmdline()}`,
        disk: overlay,
        profile: DEFAULT_BOOT_PROFILE,
        qmpSocket: qmp,
      });

    let vm = boot();
    try {
      await vm.waitFor(GUEST_READY_MARKER, 120_000);
      // The $((...)) makes the answer differ from the echoed command line.
      await typeUntil(vm, 'echo persisted-4242 >/root/persist && sync && echo WRITE-$((40+2))\n', 'WRITE-42');
      await qmpCommand(qmp, 'system_powerdown');
      const exit = await withTimeout(vm.exited, 60_000, 'the guest did not power off after system_powerdown (acpid?)');
      assert.equal(exit.code, 0, `QEMU exit after power-off: ${JSON.stringify(exit)}`);
    } finally {
      vm.kill();
      await vm.exited;
    }

    vm = boot();
    try {
      await vm.waitFor(GUEST_READY_MARKER, 120_000);
      const from = vm.output.length;
      await typeUntil(vm, 'cat /root/persist; echo READ-$((1+1))\n', 'READ-2');
      assert.match(vm.output.slice(from), /^persisted-4242\r?$/m);
    } finally {
      vm.kill();
      await vm.exited;
    }
  });

  it('removes the image', async () => {
    await images.remove('busybox-vm');
    assert.equal(await images.get('busybox-vm'), undefined);
    assert.deepEqual(await images.list(), []);
  });
});

/** The shell on ttyS0 starts just after the marker; input sent before it is lost, so retry. */
async function typeUntil(vm: RawVm, line: string, answer: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const from = vm.output.length;
    vm.send(line);
    try {
      await vm.waitFor(answer, 3000, from);
      return;
    } catch (e) {
      if (attempt >= 10) throw e;
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)))]).finally(() => clearTimeout(timer));
}
