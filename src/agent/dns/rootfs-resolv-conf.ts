// A system container's /etc/resolv.conf, written into its root's upper
// (writable) layer before each start, while the overlay is not mounted. The
// new file is renamed over whatever was there (a regular file, a symlink to
// systemd-resolved's stub, a whiteout), so the image's own file is shadowed
// without following a link out of the root. A guest that rewrites the file
// itself (its own DHCP client, resolvconf) wins until its next start.
import { lstat, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatResolvConf, type DnsConfig } from './resolv-conf.js';

const HEADER = 'Written by Lodge at each start: the cluster DNS (kube-system/kube-dns).';

/** True when the file changed. */
export async function writeRootfsResolvConf(upperDir: string, config: DnsConfig): Promise<boolean> {
  const etc = join(upperDir, 'etc');
  const path = join(etc, 'resolv.conf');
  const text = formatResolvConf(config, HEADER);
  const st = await lstat(path).catch(() => undefined);
  if (st?.isFile() && (await readFile(path, 'utf8').catch(() => '')) === text) return false;
  await mkdir(etc, { recursive: true, mode: 0o755 });
  const tmp = join(etc, `.resolv.conf.lodge-${process.pid}`);
  try {
    await writeFile(tmp, text, { mode: 0o644 });
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new Error(`cannot write ${path}: ${(e as Error).message}`);
  }
  return true;
}
