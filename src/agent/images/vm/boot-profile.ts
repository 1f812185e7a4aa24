// How Lodge boots its VM images fastest without hangs: machine type, extra
// QEMU arguments and kernel command-line additions, chosen by measurement
// (bench/vm-boot.ts; figures in bench/RESULTS.md, "Step 3 — VM boot
// profile"). The VM driver imports these; the image's own cmdline (root=...)
// and the driver's console= come on top.
import { readFileSync } from 'node:fs';

export interface BootProfile {
  /** -machine value. */
  machine: string;
  /** Extra QEMU arguments (CPU model etc.), not devices. */
  qemuArgs: string[];
  /** Kernel command-line additions, host-independent. */
  cmdline: string[];
}

/**
 * Options every profile uses: quiet (the boot log on an emulated
 * 16550 costs ~0.3 s under TCG), mitigations off (a guest under
 * the host's own protection), no timer check and a trusted TSC (TCG's timer
 * checks are slow and flaky), a single UART to probe, and panic=-1: reboot at
 * once rather than hang on a panic (with the VM driver's pvpanic device and
 * the image's pvpanic module QEMU sees GUEST_PANICKED before that).
 */
export const COMMON_CMDLINE = ['quiet', 'mitigations=off', 'no_timer_check', 'tsc=reliable', '8250.nr_uarts=1', 'panic=-1'];

export const PROFILES: Record<'q35' | 'pc' | 'microvm', BootProfile> = {
  q35: { machine: 'q35', qemuArgs: [], cmdline: COMMON_CMDLINE },
  pc: { machine: 'pc', qemuArgs: [], cmdline: COMMON_CMDLINE },
  microvm: { machine: 'microvm', qemuArgs: [], cmdline: COMMON_CMDLINE },
};

/** The default: see bench/RESULTS.md for why. */
export const DEFAULT_BOOT_PROFILE: BootProfile = PROFILES.q35;

/**
 * The host's TSC frequency in kHz, for tsc_early_khz=: the guest then skips
 * calibrating its TSC, which under TCG is slow and on microvm (no PIT
 * calibration path) can hang. Under TCG and KVM alike the guest TSC ticks at
 * the host's rate. Undefined when /proc/cpuinfo does not say.
 */
export function hostTscKhz(cpuinfo?: string): number | undefined {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return undefined;
    }
  }
  const mhz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(text)?.[1];
  return mhz ? Math.round(Number(mhz) * 1000) : undefined;
}

/** The profile's kernel command-line additions on this host (with tsc_early_khz when known). */
export function profileCmdline(profile: BootProfile = DEFAULT_BOOT_PROFILE, tscKhz = hostTscKhz()): string {
  return [...profile.cmdline, ...(tscKhz ? [`tsc_early_khz=${tscKhz}`] : [])].join(' ');
}
