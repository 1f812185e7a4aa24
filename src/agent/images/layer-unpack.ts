// Unpacks one layer tar into its own directory, the way overlayfs will stack
// it: entries are written as the archive says (owners, modes with setuid
// bits, absolute symlinks, hard links, mtimes), and OCI whiteouts become
// overlayfs whiteouts (whiteouts.ts). Nothing may land outside the
// directory: `..` paths are refused, and so is an entry whose parent path
// runs through a symlink (it could point anywhere on the host).
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, rm, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Hasher } from './digest.js';
import { isErrno } from './fsutil.js';
import { tarEntries, type TarEntry } from './tar-reader.js';
import { makeOpaque, makeWhiteouts, whiteoutKind } from './whiteouts.js';

export interface UnpackResult {
  /** sha256 of the uncompressed tar: the layer's diff-id. */
  diffId: string;
  /** Bytes of the uncompressed tar. */
  size: number;
  /**
   * Entries not written: device nodes and FIFOs (the runtime provides /dev;
   * node-tar does not decode device numbers of GNU-format headers), and
   * exotic tar types. Reported, not fatal.
   */
  skipped: string[];
}

/** How a blob is compressed, by its magic number (media types are not always right). */
export async function compressionOf(path: string): Promise<'gzip' | 'zstd' | 'none'> {
  const fh = await open(path, 'r');
  const head = Buffer.alloc(4);
  try {
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (bytesRead === 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return 'none';
  } finally {
    await fh.close();
  }
}

/** Opens a layer blob, gunzipping it when it is gzipped. */
export async function openLayerStream(blobPath: string): Promise<AsyncIterable<Uint8Array>> {
  const kind = await compressionOf(blobPath);
  if (kind === 'zstd') throw new Error(`layer ${blobPath} is zstd-compressed, which this Node version cannot decompress; re-export it with gzip`);
  const raw = createReadStream(blobPath);
  if (kind === 'gzip') {
    const gunzip = createGunzip();
    // A read or inflate error surfaces through `gunzip`, which the caller reads.
    pipeline(raw, gunzip).catch(() => undefined);
    return gunzip;
  }
  return raw;
}

async function* hashing(src: AsyncIterable<Uint8Array>, h: Hasher): AsyncGenerator<Uint8Array> {
  for await (const chunk of src) {
    h.update(chunk);
    yield chunk;
  }
}

/** Unpacks the (possibly gzipped) layer tar at `blobPath` into the existing empty directory `dest`. */
export async function unpackLayer(blobPath: string, dest: string): Promise<UnpackResult> {
  const hasher = new Hasher();
  const writer = new LayerWriter(dest);
  for await (const entry of tarEntries(hashing(await openLayerStream(blobPath), hasher))) await writer.write(entry);
  await writer.finish();
  return { diffId: hasher.digest(), size: hasher.size, skipped: writer.skipped };
}

/** A tar path as a clean relative path ('' for the root); throws on `..`. */
export function cleanPath(p: string): string {
  const rel = posix.normalize(p.replace(/^\/+/, '')).replace(/\/+$/, '');
  if (rel === '.' || rel === '') return '';
  if (rel === '..' || rel.startsWith('../')) throw new Error(`layer entry ${JSON.stringify(p)} points outside the layer`);
  return rel;
}

class LayerWriter {
  readonly skipped: string[] = [];
  /** Relative directories known to be real directories (not symlinks) in this layer. */
  readonly #dirs = new Set<string>(['']);
  readonly #whiteouts: string[] = [];
  readonly #opaque = new Set<string>();
  /** Directory mtimes, set last: writing into a directory changes its mtime. */
  readonly #dirTimes: Array<[string, Date]> = [];

  constructor(private readonly root: string) {}

  async write(e: TarEntry): Promise<void> {
    const rel = cleanPath(e.path);
    const base = posix.basename(rel);
    const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
    const wh = rel === '' ? undefined : whiteoutKind(base);
    if (wh) {
      if (wh.kind === 'opaque') this.#opaque.add(parent);
      if (wh.kind === 'remove') this.#whiteouts.push(parent ? `${parent}/${wh.name}` : wh.name);
      return; // the marker itself is not part of the tree
    }
    const abs = join(this.root, rel);
    switch (e.type) {
      case 'Directory':
      case 'GNUDumpDir':
        if (rel !== '') {
          await this.#ensureDir(parent);
          await this.#clear(rel, true);
          await mkdir(abs).catch((err: unknown) => {
            if (!isErrno(err, 'EEXIST')) throw err;
          });
          this.#dirs.add(rel);
        }
        await this.#meta(abs, e, false);
        if (e.mtime) this.#dirTimes.push([abs, e.mtime]);
        return;
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        await this.#ensureDir(parent);
        await this.#clear(rel, false);
        // Created owner-only, then chown and chmod give the exact mode (a
        // later chown would clear setuid bits; the umask would mask others).
        await pipeline(e, createWriteStream(abs, { flags: 'wx', mode: 0o600 }));
        await this.#meta(abs, e, false);
        if (e.mtime) await utimes(abs, e.atime ?? e.mtime, e.mtime);
        return;
      case 'SymbolicLink':
        await this.#ensureDir(parent);
        await this.#clear(rel, false);
        // The target is kept verbatim: it is resolved inside the container's root, not here.
        await symlink(e.linkpath ?? '', abs);
        await this.#meta(abs, e, true);
        if (e.mtime) await lutimes(abs, e.atime ?? e.mtime, e.mtime);
        return;
      case 'Link': {
        const target = cleanPath(e.linkpath ?? '');
        const tparent = posix.dirname(target) === '.' ? '' : posix.dirname(target);
        await this.#ensureDir(tparent, false);
        const st = await lstat(join(this.root, target)).catch(() => undefined);
        if (!st || st.isDirectory()) throw new Error(`layer entry ${rel} is a hard link to ${JSON.stringify(e.linkpath)}, which is not a file in this layer`);
        await this.#ensureDir(parent);
        await this.#clear(rel, false);
        await link(join(this.root, target), abs);
        return;
      }
      default:
        this.skipped.push(`${rel} (${e.type})`);
        return;
    }
  }

  /** Turns the collected whiteouts into overlayfs form and sets directory times. */
  async finish(): Promise<void> {
    const removed: string[] = [];
    for (const rel of this.#whiteouts) {
      const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
      await this.#ensureDir(parent);
      const abs = join(this.root, rel);
      // The same layer may recreate what it whites out; the OCI spec says a
      // whiteout only hides lower layers, so this layer's entry wins.
      if (await lstat(abs).then(() => true, () => false)) continue;
      removed.push(abs);
    }
    const opaque: string[] = [];
    for (const rel of this.#opaque) {
      await this.#ensureDir(rel);
      opaque.push(join(this.root, rel));
    }
    await makeWhiteouts(removed);
    await makeOpaque(opaque);
    for (const [abs, mtime] of this.#dirTimes.reverse()) await utimes(abs, mtime, mtime);
  }

  async #meta(abs: string, e: TarEntry, isLink: boolean): Promise<void> {
    await lchown(abs, e.uid ?? 0, e.gid ?? 0);
    if (!isLink) await chmod(abs, (e.mode ?? (e.type === 'Directory' ? 0o755 : 0o644)) & 0o7777);
  }

  /**
   * Makes sure `rel` is a real directory of this layer, creating missing
   * parts (0755, root) when `create`; refuses symlinks and non-directories
   * on the way.
   */
  async #ensureDir(rel: string, create = true): Promise<void> {
    if (this.#dirs.has(rel)) return;
    let at = '';
    for (const part of rel.split('/')) {
      at = at ? `${at}/${part}` : part;
      if (this.#dirs.has(at)) continue;
      const abs = join(this.root, at);
      const st = await lstat(abs).catch((err: unknown) => {
        if (isErrno(err, 'ENOENT')) return undefined;
        throw err;
      });
      if (!st) {
        if (!create) throw new Error(`layer path ${at} does not exist`);
        await mkdir(abs, { mode: 0o755 });
      } else if (st.isSymbolicLink()) {
        throw new Error(`layer entry under ${at} goes through a symbolic link; refusing to write outside the layer`);
      } else if (!st.isDirectory()) {
        throw new Error(`layer entry under ${at}: ${at} is not a directory`);
      }
      this.#dirs.add(at);
    }
  }

  /** Removes what is at `rel` before a new entry takes its place; a directory stays for a directory. */
  async #clear(rel: string, forDir: boolean): Promise<void> {
    const abs = join(this.root, rel);
    const st = await lstat(abs).catch(() => undefined);
    if (!st) return;
    if (forDir && st.isDirectory()) return;
    await rm(abs, { recursive: true, force: true });
    for (const d of this.#dirs) if (d === rel || d.startsWith(`${rel}/`)) this.#dirs.delete(d);
  }
}
