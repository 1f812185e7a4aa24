// The tar side of exports: GNU tar for the trees (it keeps what overlayfs
// needs in a layer: owners by number, modes, hard links, whiteouts as 0/0
// character devices, trusted.overlay.* xattrs with --xattrs), plus the one
// member we write ourselves — lodge-export.json first, as a plain ustar
// header, so a reader finds it in the first block without parsing PAX
// headers (GNU tar puts one before every member once xattrs are on).
import { spawn, type ChildProcess } from 'node:child_process';

/** Options both ways: xattrs of every namespace (trusted.overlay.* included), owners as numbers. */
export const TAR_TREE_OPTIONS = ['--xattrs', '--xattrs-include=*', '--numeric-owner'];

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** One regular-file member (header and padded data), for a name of at most 100 bytes. */
export function ustarMember(name: string, data: Buffer, mtime = new Date()): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  h.write(octal(data.length, 12), 124, 'latin1');
  h.write(octal(Math.floor(mtime.getTime() / 1000), 12), 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write('0', 156, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'latin1');
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad]);
}

/** The last lines of a child's stderr, for errors. */
export function collectStderr(child: ChildProcess): () => string {
  const err: Buffer[] = [];
  child.stderr?.on('data', (c: Buffer) => {
    err.push(c);
    if (err.length > 64) err.shift();
  });
  return () => Buffer.concat(err).toString().trim().split('\n').slice(-5).join('\n');
}

/** GNU tar writing `members` of `dir` to its stdout. */
export function tarCreate(dir: string, members: string[]): ChildProcess {
  return spawn('tar', ['-c', '-f', '-', '-C', dir, ...TAR_TREE_OPTIONS, '--', ...members], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** GNU tar extracting its stdin into `dir`, keeping owners, modes and xattrs (it runs as root, as the agent does). */
export function tarExtract(dir: string): ChildProcess {
  return spawn('tar', ['-x', '-f', '-', '-C', dir, ...TAR_TREE_OPTIONS, '--same-permissions', '--same-owner', '--no-overwrite-dir'], { stdio: ['pipe', 'ignore', 'pipe'] });
}
