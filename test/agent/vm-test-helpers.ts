// What the VM driver tests share: a VM's QEMU by the pid its driver
// recorded (checked against its command line, so a reused pid is never
// mistaken for it) and a stream read to its end.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { VmSpec, WorkloadSpec } from '../../src/agent/runtime/driver.js';

export const pidOf = (root: string, id: string): number | undefined => {
  const f = join(root, 'vms', id, 'pid');
  return existsSync(f) ? Number(readFileSync(f, 'utf8')) : undefined;
};

export function qemuAliveByPid(id: string, pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`guest=${id},`);
  } catch {
    return false;
  }
}

export async function text(s: Readable | undefined): Promise<string> {
  if (!s) return '';
  let out = '';
  for await (const chunk of s) out += (chunk as Buffer).toString('utf8');
  return out;
}

/** A VM workload of `image` as the driver tests make them: 1 vCPU, 256 MiB unless `vm` says otherwise. */
export function vmWorkloadSpec(
  id: string,
  image: { kernel: string; initrd?: string; cmdline: string; disk: VmSpec['baseDisk'] },
  o: { cgroupParent: string; logDir: string; hostname?: string; vm?: Partial<VmSpec> },
): WorkloadSpec {
  return {
    id,
    node: 'test-node',
    rootfs: { lowerDirs: [] },
    args: [],
    env: [],
    cwd: '/',
    ...(o.hostname ? { hostname: o.hostname } : {}),
    limits: {},
    cgroupsPath: `${o.cgroupParent}/${id}`,
    mounts: [],
    logPath: join(o.logDir, `${id}.log`),
    vm: { kernel: image.kernel, initrd: image.initrd, cmdline: image.cmdline, baseDisk: image.disk, cpus: 1, memoryBytes: 256 * 1024 * 1024, ...o.vm },
  };
}
