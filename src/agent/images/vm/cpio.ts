// A writer for the "newc" cpio format, the one the kernel unpacks as an
// initramfs. Written here rather than with cpio(1) so that device nodes
// (/dev/console) go in without root privileges or mknod on the host.

export type CpioEntry =
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'file'; data: Buffer; mode?: number }
  | { path: string; type: 'symlink'; target: string }
  | { path: string; type: 'char'; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

/** The archive holding `entries` in order (parents before children) and the trailer. */
export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  let ino = 1;
  const push = (b: Buffer): void => {
    parts.push(b);
    offset += b.length;
  };
  const pad = (): void => {
    if (offset % 4) push(Buffer.alloc(4 - (offset % 4)));
  };
  const entry = (name: string, mode: number, data: Buffer, rdev: [number, number] = [0, 0], nlink = 1): void => {
    const fields = [ino++, mode, 0, 0, nlink, 0, data.length, 0, 0, rdev[0], rdev[1], Buffer.byteLength(name) + 1, 0];
    push(Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`, 'latin1'));
    push(Buffer.from(`${name}\0`));
    pad();
    push(data);
    pad();
  };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    switch (e.type) {
      case 'dir':
        entry(name, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0), [0, 0], 2);
        break;
      case 'file':
        entry(name, S_IFREG | (e.mode ?? 0o644), e.data);
        break;
      case 'symlink':
        entry(name, S_IFLNK | 0o777, Buffer.from(e.target));
        break;
      case 'char':
        entry(name, S_IFCHR | (e.mode ?? 0o600), Buffer.alloc(0), [e.major, e.minor]);
        break;
    }
  }
  entry('TRAILER!!!', 0, Buffer.alloc(0), [0, 0], 1);
  return Buffer.concat(parts);
}
