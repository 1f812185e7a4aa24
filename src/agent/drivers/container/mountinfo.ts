// /proc/self/mountinfo, parsed: the host's truth about what is mounted where.
// Used to find the cgroup hierarchies and to tell whether a root is mounted,
// so teardown acts on what is there rather than on what we remember.
import { readFile } from 'node:fs/promises';

export interface MountEntry {
  /** Path inside the mounted filesystem that is visible at mountPoint ("/" unless a bind of a subtree). */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  /** Per-superblock options; for cgroup v1 they name the controllers (e.g. "rw,cpu"). */
  superOptions: string[];
}

// The kernel escapes space, tab, newline and backslash in paths as octal.
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (sep < 0 || fields.length < sep + 4) continue;
    out.push({
      root: unescape(fields[3]),
      mountPoint: unescape(fields[4]),
      fsType: fields[sep + 1],
      source: unescape(fields[sep + 2]),
      superOptions: fields[sep + 3].split(','),
    });
  }
  return out;
}

export async function readMountinfo(): Promise<MountEntry[]> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await readMountinfo()).some((m) => m.mountPoint === path);
}
