// Which accelerator QEMU gets: KVM where it really works, TCG otherwise.
// A /dev/kvm node is not enough: nested sandboxes expose kvm_pvm, which
// cannot run a standard guest kernel (HOST-NOTES), yet runs a few real-mode
// instructions fine. So the probe asks, in order, each question cheaply
// enough to run at every agent start, and stops at the first "no":
//   1. can we open /dev/kvm read-write;
//   2. does the CPU advertise hardware virtualization (vmx/svm) — kvm_pvm
//      and other paravirtual KVMs do not;
//   3. does QEMU with -accel kvm -cpu host start a vCPU and run code (a 64 KiB
//      firmware that writes to isa-debug-exit) — catches QEMU refusing the
//      host CPU (MSR errors) or missing KVM capabilities;
//   4. optionally, does a real guest kernel boot to its end under KVM (the
//      kernel panics for want of a root disk; -no-reboot makes QEMU exit).
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Accelerator = 'kvm' | 'tcg';

export interface AccelProbeResult {
  accelerator: Accelerator;
  /** Why: the first check that failed, or what passed. Shown on the Node and in `lodge info`. */
  reason: string;
}

export interface AccelProbeOptions {
  qemuPath: string;
  /** A kernel to boot for check 4; skipped when unset. */
  kernel?: string;
  cpuinfo?: string;
  kvmDevice?: string;
}

const FIRMWARE_EXIT = 0x2a;

/** 64 KiB of hlt, with `mov al, 0x2a; out 0xf4, al; hlt; jmp $-1` at the reset vector (0xFFF0). */
function probeFirmware(): Buffer {
  const fw = Buffer.alloc(65536, 0xf4);
  Buffer.from([0xb0, FIRMWARE_EXIT, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd]).copy(fw, 0xfff0);
  return fw;
}

interface RunResult {
  code: number | null;
  output: string;
  timedOut: boolean;
}

function runQemu(qemu: string, args: string[], timeoutMs: number, until?: RegExp): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let timedOut = false;
    let matched = false;
    const onData = (b: Buffer): void => {
      output += b.toString('latin1');
      if (until && !matched && until.test(output)) {
        matched = true;
        child.kill('SIGKILL');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => (output += e.message));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: matched ? 0 : code, output, timedOut: timedOut && !matched });
    });
  });
}

const lastLine = (s: string): string => s.trim().split('\n').slice(-1)[0] ?? '';

export async function probeAccelerator(opts: AccelProbeOptions): Promise<AccelProbeResult> {
  const tcg = (reason: string): AccelProbeResult => ({ accelerator: 'tcg', reason: `TCG: ${reason}` });
  const dev = opts.kvmDevice ?? '/dev/kvm';
  try {
    await access(dev, constants.R_OK | constants.W_OK);
  } catch (e) {
    return tcg(`${dev} not usable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const cpuinfo = opts.cpuinfo ?? (await readFile('/proc/cpuinfo', 'utf8').catch(() => ''));
  const flags = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? [];
  if (!flags.includes('vmx') && !flags.includes('svm')) return tcg(`${dev} exists but the CPU has no vmx/svm flag (a paravirtual KVM such as kvm_pvm cannot run standard guests)`);

  const dir = await mkdtemp(join(tmpdir(), 'lodge-kvm-probe-'));
  try {
    const fw = join(dir, 'probe.bin');
    await writeFile(fw, probeFirmware());
    const base = ['-accel', 'kvm', '-cpu', 'host', '-nodefaults', '-no-user-config', '-display', 'none', '-m', '64'];
    const r = await runQemu(opts.qemuPath, [...base, '-machine', 'pc', '-bios', fw, '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'], 10_000);
    // isa-debug-exit makes QEMU exit with (value << 1) | 1.
    if (r.code !== ((FIRMWARE_EXIT << 1) | 1)) return tcg(`QEMU under KVM did not run a test vCPU (${r.timedOut ? 'timed out' : `exit ${r.code}`}${r.output ? `: ${lastLine(r.output)}` : ''})`);
    if (opts.kernel) {
      const boot = await runQemu(
        opts.qemuPath,
        [...base, '-machine', 'q35', '-m', '256', '-no-reboot', '-serial', 'stdio', '-kernel', opts.kernel, '-append', 'console=ttyS0 panic=-1 root=/dev/lodge-probe-none'],
        30_000,
        /Kernel panic|VFS: Unable to mount root/,
      );
      if (boot.code !== 0) return tcg(`a guest kernel did not boot under KVM (${boot.timedOut ? 'timed out' : `exit ${boot.code}`}: ${lastLine(boot.output)})`);
      return { accelerator: 'kvm', reason: 'KVM: a test vCPU and a guest kernel ran under it' };
    }
    return { accelerator: 'kvm', reason: 'KVM: a test vCPU ran under it' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
