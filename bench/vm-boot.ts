// VM boot profile: a hand-written QEMU command line (TCG here, 1 vCPU,
// 256 MiB, virtio-blk on a qcow2 overlay of the busybox-vm image, serial on
// stdio) timed from spawn to the guest's LODGE-GUEST-READY line, for each
// machine type and kernel-option set; then N boots of the chosen default,
// counting hangs (no marker within the time limit). Variants alternate, so
// drift hits all alike. Writes "## Step 3 — VM boot profile" in RESULTS.md.
//
//   node dist/bench/vm-boot.js [--count 5] [--reliability 20] [--images DIR] [--no-write]
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { COMMON_CMDLINE, DEFAULT_BOOT_PROFILE, PROFILES, hostTscKhz, type BootProfile } from '../src/agent/images/vm/boot-profile.js';
import { RawVm } from '../src/agent/images/vm/raw-boot.js';
import { GUEST_READY_MARKER } from '../src/agent/images/vm/busybox-vm.js';
import { VmImages, type VmImage } from '../src/agent/images/vm/vm-images.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { writeSection } from './lib/results-md.js';
import { summarize } from './lib/stats.js';

interface Variant {
  name: string;
  profile: BootProfile;
  cmdline: string[];
}

const BOOT_LIMIT_MS = 30_000;

const WHY =
  'Why q35 and not microvm, though microvm boots ~10% faster: the VM driver needs PCI (pvpanic for GUEST_PANICKED, virtio-pci devices, later hotplug), and microvm without `tsc_early_khz` hangs in TSC calibration (2 of 5 here), so one missing host figure would turn a small gain into hangs. pc is no faster than q35. `quiet` saves ~0.3 s of serial output; `tsc_early_khz` ~0.1 s on q35 and is what makes microvm reliable; `-cpu max` is slower under TCG (more features to emulate).';

function variants(tsc: number | undefined): Variant[] {
  const early = tsc ? [`tsc_early_khz=${tsc}`] : [];
  const lean = [...COMMON_CMDLINE, ...early];
  return [
    { name: 'q35, lean', profile: PROFILES.q35, cmdline: lean },
    { name: 'q35, lean without tsc_early_khz', profile: PROFILES.q35, cmdline: COMMON_CMDLINE },
    { name: 'q35, only quiet', profile: PROFILES.q35, cmdline: ['quiet'] },
    { name: 'q35, nothing (full boot log on serial)', profile: PROFILES.q35, cmdline: [] },
    { name: 'q35, lean, -cpu max', profile: { ...PROFILES.q35, qemuArgs: ['-cpu', 'max'] }, cmdline: lean },
    { name: 'pc, lean', profile: PROFILES.pc, cmdline: lean },
    { name: 'microvm, lean', profile: PROFILES.microvm, cmdline: lean },
    { name: 'microvm, lean without tsc_early_khz', profile: PROFILES.microvm, cmdline: COMMON_CMDLINE },
  ];
}

/** One boot to the ready marker: ms, or undefined on a hang / early exit. QEMU is killed by PID either way. */
async function bootOnce(img: VmImage, v: Variant, tmp: string, i: number): Promise<number | undefined> {
  const overlay = join(tmp, `boot-${i}.qcow2`);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', img.disk.path, overlay]);
  const vm = RawVm.start({
    kernel: img.kernel,
    initrd: img.initrd,
    cmdline: [img.cmdline, 'console=ttyS0', ...v.cmdline].join(' '),
    disk: overlay,
    profile: v.profile,
  });
  try {
    return await vm.waitFor(GUEST_READY_MARKER, BOOT_LIMIT_MS);
  } catch {
    return undefined;
  } finally {
    vm.kill();
    await vm.exited;
    rmSync(overlay, { force: true });
  }
}

export function commandFor(img: VmImage, v: Variant): string {
  return [
    'qemu-img create -f qcow2 -F qcow2 -b DISK OVERLAY &&',
    `qemu-system-x86_64 -accel tcg -machine ${v.profile.machine} ${v.profile.qemuArgs.join(' ')} -smp 1 -m 256`,
    '-nodefaults -no-user-config -display none -serial stdio',
    `-kernel vmlinux -initrd initrd.cpio -append "${[img.cmdline, 'console=ttyS0', ...v.cmdline].join(' ')}"`,
    `-drive file=OVERLAY,format=qcow2,if=none,id=root,cache=writeback -device ${v.profile.machine === 'microvm' ? 'virtio-blk-device' : 'virtio-blk-pci'},drive=root`,
  ].join(' ').replace(/ +/g, ' ');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '5' },
      reliability: { type: 'string', default: '20' },
      images: { type: 'string', default: '/var/tmp/lodge-bench-images' },
      'no-write': { type: 'boolean', default: false },
    },
  });
  const count = Number(values.count);
  const reliability = Number(values.reliability);
  const images = await VmImages.open(values.images!);
  const img = await images.ensure('busybox-vm', (s) => process.stderr.write(`vm-boot: image: ${s}\n`));
  const tsc = hostTscKhz();
  const all = variants(tsc);
  const tmp = mkdtempSync('/tmp/lodge-vm-boot-');
  try {
    const samples = new Map<string, { ok: number[]; hangs: number }>(all.map((v) => [v.name, { ok: [], hangs: 0 }]));
    let n = 0;
    for (let round = 0; round < count; round++) {
      for (const v of all) {
        const ms = await bootOnce(img, v, tmp, n++);
        const s = samples.get(v.name)!;
        if (ms === undefined) s.hangs++;
        else s.ok.push(ms);
        process.stderr.write(`vm-boot: ${v.name}: ${ms === undefined ? 'HANG' : `${ms.toFixed(0)} ms`}\n`);
      }
    }
    const chosen = all[0]!;
    const rel: number[] = [];
    let relHangs = 0;
    for (let i = 0; i < reliability; i++) {
      const ms = await bootOnce(img, chosen, tmp, n++);
      if (ms === undefined) relHangs++;
      else rel.push(ms);
      process.stderr.write(`vm-boot: default ${i + 1}/${reliability}: ${ms === undefined ? 'HANG' : `${ms.toFixed(0)} ms`}\n`);
    }
    const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '–');
    const rows = all.map((v) => {
      const s = samples.get(v.name)!;
      const sum = summarize(s.ok);
      return `| ${v.name} | ${fmt(sum.p50)} | ${fmt(sum.max)} | ${s.hangs}/${count} |`;
    });
    const relSum = summarize(rel);
    const isDefault = chosen.profile.machine === DEFAULT_BOOT_PROFILE.machine;
    const body = `Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}

Command: \`node dist/bench/vm-boot.js --count ${count} --reliability ${reliability}\`

Machine: ${describeMachine(machineInfo())}; QEMU ${execFileSync('qemu-system-x86_64', ['--version']).toString().split('\n')[0]!.replace(/^QEMU emulator version /, '')}, accelerator TCG (/dev/kvm here is kvm_pvm and cannot run a standard guest).

Guest: busybox-vm (${img.kernelPackage}, ELF vmlinux booted through its PVH entry, ${img.initrd ? 'uncompressed initramfs loading the virtio modules, ' : ''}ext4 root on virtio-blk). Time is from spawning QEMU to \`${GUEST_READY_MARKER}\` on the serial console (busybox init's rcS done); a hang is no marker within ${BOOT_LIMIT_MS / 1000} s. Host TSC for tsc_early_khz: ${tsc ?? 'unknown'} kHz. "lean" = \`${COMMON_CMDLINE.join(' ')} tsc_early_khz=…\`; every variant also has \`${img.cmdline} console=ttyS0\`.

Raw command (default profile):

\`\`\`
${commandFor(img, chosen)}
\`\`\`

| variant (${count} boots each, interleaved) | median ms | max ms | hangs |
|---|---:|---:|---:|
${rows.join('\n')}

Default${isDefault ? '' : ' (NOT the exported one)'}: **${chosen.name}** (\`DEFAULT_BOOT_PROFILE\` in src/agent/images/vm/boot-profile.ts, with \`profileCmdline()\`): ${reliability} boots, ${relHangs} hangs, median ${fmt(relSum.p50)} ms, p90 ${fmt(relSum.p90)} ms, max ${fmt(relSum.max)} ms. For scale, Firecracker publishes ≤125 ms to init with KVM and a minimal kernel; this is TCG (instruction translation) with Debian's stock cloud kernel.

${WHY}
`;
    process.stdout.write(`${body}\n`);
    if (!values['no-write']) writeSection(join(import.meta.dirname, '..', '..', 'bench', 'RESULTS.md'), 'Step 3 — VM boot profile', body);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  process.stderr.write(`vm-boot: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
