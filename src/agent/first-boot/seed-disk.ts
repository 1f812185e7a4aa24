// The NoCloud seed disk of a VM: an ISO 9660 image, volume id cidata, with
// meta-data, user-data (network-config) and Lodge's appliers at its root.
// ISO rather than vfat: one tool run (genisoimage, what cloud-localds uses)
// builds it from a directory without loop mounts or a size to guess, the
// guest kernel needs one module (isofs) instead of three (fat, vfat, nls),
// and it is read-only by nature, which is what a seed is. Rock Ridge keeps
// names in lower case and the files' modes (user-data readable by root only,
// as it may hold secrets); Joliet for guests that only read that.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { findExecutable, mustRun } from '../drivers/container/command.js';
import { tempName } from '../images/fsutil.js';
import { LODGE_NETWORK_FILE } from './guest-network.js';
import { LODGE_FIRST_BOOT_FILE, SEED_LABEL, type NoCloudSeed } from './nocloud.js';

/** The files at the seed's root, by name: the standard NoCloud ones and the Lodge applier. */
export function seedFiles(seed: NoCloudSeed): Array<{ name: string; content: string; mode: number }> {
  return [
    { name: 'meta-data', content: seed.metaData, mode: 0o644 },
    { name: 'user-data', content: seed.userData, mode: 0o600 },
    ...(seed.networkConfig !== undefined ? [{ name: 'network-config', content: seed.networkConfig, mode: 0o644 }] : []),
    { name: LODGE_FIRST_BOOT_FILE, content: seed.lodgeFirstBoot, mode: 0o700 },
    ...(seed.lodgeNetwork !== undefined ? [{ name: LODGE_NETWORK_FILE, content: seed.lodgeNetwork, mode: 0o700 }] : []),
  ];
}

/**
 * Writes the seed image to `path` (replaced atomically: a QEMU that has the
 * old one open keeps reading the old file). Needs genisoimage on the host.
 */
export async function writeSeedDisk(seed: NoCloudSeed, path: string): Promise<void> {
  const tool = await findExecutable('genisoimage');
  if (!tool) throw new Error(`cannot make the cloud-init seed disk ${path}: genisoimage not found; install Debian's genisoimage (node scripts/setup.mjs)`);
  const work = tempName(dirname(path), '.seed');
  const staged = `${work}.iso`;
  try {
    await mkdir(join(work, 'root'), { recursive: true });
    for (const f of seedFiles(seed)) await writeFile(join(work, 'root', f.name), f.content, { mode: f.mode });
    await mustRun([tool, '-quiet', '-output', staged, '-volid', SEED_LABEL, '-rock', '-joliet', '-input-charset', 'utf-8', join(work, 'root')]);
    await rename(staged, path);
  } catch (e) {
    throw new Error(`cannot make the cloud-init seed disk ${path}: ${(e as Error).message}`);
  } finally {
    await rm(work, { recursive: true, force: true });
    await rm(staged, { force: true });
  }
}
