// What the agent reports about its host in the Node object: identity,
// versions, capacity, and how it runs virtual machines (KVM only where it really works).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { findExecutable } from './drivers/container/command.js';
import { probeAccelerator } from './drivers/vm/accel.js';

const run = promisify(execFile);

export const KUBELET_VERSION = 'v1.33.0-lodge';
export const MAX_PODS = 110;

export interface HostInfo {
  nodeInfo: Record<string, string>;
  capacity: Record<string, string>;
  kvm: boolean;
  /** kvm, tcg or none, and why (shown on the Node). */
  accelerator: 'kvm' | 'tcg' | 'none';
  acceleratorReason: string;
}

/** A hostname as a Node name: lower case, a DNS subdomain. */
export function defaultNodeName(): string {
  return hostname().toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'localhost';
}

async function readTrim(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/**
 * How this host runs virtual machines: the VM driver's probe (KVM only when a
 * test vCPU really runs under it — /dev/kvm alone is not enough: kvm_pvm
 * hosts have one that cannot run standard guests), TCG when QEMU is there
 * without KVM, none without QEMU.
 */
export async function probeVirtualization(): Promise<{ accelerator: 'kvm' | 'tcg' | 'none'; reason: string }> {
  const qemuPath = await findExecutable('qemu-system-x86_64');
  if (!qemuPath) return { accelerator: 'none', reason: 'qemu-system-x86_64 is not installed' };
  return probeAccelerator({ qemuPath });
}

async function runcVersion(runcPath: string | undefined): Promise<string> {
  if (runcPath) {
    try {
      const { stdout } = await run(runcPath, ['--version']);
      const m = /runc version (\S+)/.exec(stdout);
      if (m) return `runc://${m[1]}`;
    } catch {
      /* fall through */
    }
  }
  return 'runc://1.1.x';
}

function goArch(): string {
  const a = arch();
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

export async function probeHost(runcPath?: string): Promise<HostInfo> {
  const osRelease = (await readTrim('/etc/os-release')) ?? '';
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? 'Linux';
  const machineID = (await readTrim('/etc/machine-id')) ?? '';
  const bootID = (await readTrim('/proc/sys/kernel/random/boot_id')) ?? '';
  const systemUUID = (await readTrim('/sys/class/dmi/id/product_uuid')) ?? machineID;
  const mem = `${Math.floor(totalmem() / 1024)}Ki`;
  const virt = await probeVirtualization();
  return {
    nodeInfo: {
      machineID,
      systemUUID,
      bootID,
      kernelVersion: release(),
      osImage: pretty,
      containerRuntimeVersion: await runcVersion(runcPath),
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: goArch(),
    },
    capacity: { cpu: String(cpus().length), memory: mem, pods: String(MAX_PODS) },
    kvm: virt.accelerator === 'kvm',
    accelerator: virt.accelerator,
    acceleratorReason: virt.reason,
  };
}
