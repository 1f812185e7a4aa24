// What the agent reports about its host in the Node object: identity,
// versions, capacity, and whether KVM really works here.
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const KUBELET_VERSION = 'v1.33.0-lodge';
export const MAX_PODS = 110;

export interface HostInfo {
  nodeInfo: Record<string, string>;
  capacity: Record<string, string>;
  kvm: boolean;
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
 * KVM usable for hardware virtualization. /dev/kvm alone is not enough: some
 * hosts expose a paravirtual kvm (kvm_pvm) without vmx/svm, which QEMU's
 * accel=kvm cannot use for ordinary guests.
 */
export async function probeKvm(): Promise<boolean> {
  const dev = await stat('/dev/kvm').then(
    (st) => st.isCharacterDevice(),
    () => false,
  );
  if (!dev) return false;
  const cpuinfo = (await readTrim('/proc/cpuinfo')) ?? '';
  return /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo);
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
    kvm: await probeKvm(),
  };
}
