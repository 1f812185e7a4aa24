// OCI layers mark deletions with files: `.wh.NAME` hides NAME of the layers
// below, `.wh..wh..opq` hides everything below in its directory. overlayfs,
// which stacks our per-layer directories, wants its own form instead: a
// character device 0/0 in place of a removed entry, and the xattr
// trusted.overlay.opaque=y on an opaque directory. Node can do neither
// (no mknod, no setxattr), so the coreutils `mknod` and attr's `setfattr` do
// it in batches. trusted.* xattrs need CAP_SYS_ADMIN: the agent runs as root.
import { run, inBatches } from './run.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export type WhiteoutKind = { kind: 'opaque' } | { kind: 'remove'; name: string } | { kind: 'internal' } | undefined;

/** What a tar entry's base name means as a whiteout, if anything. */
export function whiteoutKind(base: string): WhiteoutKind {
  if (base === OPAQUE_MARKER) return { kind: 'opaque' };
  // `.wh..wh.` prefixes other than the opaque marker are AUFS bookkeeping
  // (.wh..wh.plnk, .wh..wh.aufs); the OCI spec says to ignore them.
  if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return { kind: 'internal' };
  if (base.startsWith(WHITEOUT_PREFIX) && base.length > WHITEOUT_PREFIX.length) return { kind: 'remove', name: base.slice(WHITEOUT_PREFIX.length) };
  return undefined;
}

/** Creates overlayfs whiteouts (character devices 0/0) at these absolute paths, which must not exist. */
export async function makeWhiteouts(paths: string[]): Promise<void> {
  // One shell loop per batch instead of one process per file; the paths are
  // passed as arguments, never spliced into the script.
  await inBatches(paths, (batch) => run('sh', ['-c', 'for p do mknod -m 000 "$p" c 0 0 || exit 1; done', 'sh', ...batch]));
}

/** Marks these absolute directory paths opaque for overlayfs. */
export async function makeOpaque(dirs: string[]): Promise<void> {
  // -h: set the attribute on the path itself, never through a symlink.
  await inBatches(dirs, (batch) => run('setfattr', ['-h', '-n', 'trusted.overlay.opaque', '-v', 'y', '--', ...batch]));
}
