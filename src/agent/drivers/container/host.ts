// What the host's cgroups can do, looked at once when the driver opens.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cgroupDir, hierarchies } from './cgroups.js';
import type { SpecHost } from './oci-spec.js';
import { exists } from './proc.js';

export async function probeHost(): Promise<SpecHost> {
  const hs = await hierarchies();
  // systemd's own v1 hierarchy, which a systemd container gets a writable view of (oci-spec.ts).
  const named = hs.find((h) => h.version === 1 && h.controllers.includes('name=systemd'));
  const systemd = named ? { systemdHierarchy: named } : {};
  const v1 = hs.find((h) => h.version === 1 && h.controllers.includes('memory'));
  if (v1) return { swapAccounting: await exists(join(v1.mountPoint, 'memory.memsw.limit_in_bytes')), ...systemd };
  const v2 = hs.find((h) => h.version === 2 && h.controllers.includes('memory'));
  if (!v2) return { swapAccounting: false, ...systemd };
  // The v2 root cgroup has no memory.swap.max; our own (non-root) cgroup shows whether swap is accounted.
  const own = (await readFile('/proc/self/cgroup', 'utf8')).split('\n').find((l) => l.startsWith('0::'));
  const dir = own && cgroupDir(v2, own.slice(3));
  return { swapAccounting: own !== '0::/' && !!dir && (await exists(join(dir, 'memory.swap.max'))), ...systemd };
}
