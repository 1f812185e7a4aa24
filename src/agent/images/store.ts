// The node's content-addressed image store (layout.ts has the on-disk
// shape). It hands the container driver lower directories as data
// (RootfsSpec), as containerd's snapshotters hand out mounts: mounting is the
// driver's job. One agent process owns a store directory.
import { mkdir, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageConfig, RootfsSpec } from '../runtime/driver.js';
import { ingestBlob, putBlob, readJsonBlob, type StoredBlob } from './blobs.js';
import { buildBusybox, buildDebian, builtinSpec, DEBIAN_SYSTEMD_PACKAGES, DEFAULT_PATH, tarDirectory } from './builtin.js';
import { debootstrapCached } from './vm/debian-vm.js';
import { digestHex } from './digest.js';
import { atomicWriteJson, exists, fsyncPath, isErrno, tempName } from './fsutil.js';
import { ensureLayer } from './layers.js';
import { compressionOf } from './layer-unpack.js';
import { checkName, StoreLayout, type ImageFormat, type ImageRecord } from './layout.js';
import { MEDIA, chooseManifest, hostArchitecture, isIndex, parseConfig, parseIndex, parseManifest, runConfig, stageArchive, type Descriptor } from './oci.js';
import { RwLock } from './rwlock.js';

export interface ImageStoreOptions {
  /** The store's directory, e.g. <data>/images. Created when missing. */
  root: string;
  /** Who uses an image (workload ids); an image with users cannot be removed or replaced. */
  inUse?: (name: string) => string[];
  /** Progress of long operations, one line at a time. */
  onProgress?: (message: string) => void;
  /** Debian mirror for debootstrap (default: LODGE_DEBIAN_MIRROR, the host's apt source, deb.debian.org). */
  debianMirror?: string;
}

export interface ImportOptions {
  /** Replace an existing image of that name (refused while it is in use). */
  replace?: boolean;
}

export interface OciImportOptions extends ImportOptions {
  /** Which image of a layout holding several: its org.opencontainers.image.ref.name. */
  ref?: string;
}

export interface RootfsImportOptions extends ImportOptions {
  /** How to run it; a rootfs tarball carries no configuration. */
  config?: ImageConfig;
  /** Expected sha256 (hex or sha256:hex) of the tarball as given. */
  sha256?: string;
}

export interface PreparedImage {
  rootfs: RootfsSpec;
  config: ImageConfig;
  digest: string;
}

export class ImageNotFoundError extends Error {
  constructor(readonly image: string) {
    super(`image ${JSON.stringify(image)} not found`);
    this.name = 'ImageNotFoundError';
  }
}

export class ImageInUseError extends Error {
  constructor(readonly image: string, readonly users: string[]) {
    super(`image ${JSON.stringify(image)} is in use by ${users.join(', ')}`);
    this.name = 'ImageInUseError';
  }
}

/** What an import has put in the store before its record names it. */
interface Parts {
  digest: string;
  configDigest: string;
  config: ImageConfig;
  layers: string[];
  blobs: string[];
  size: number;
  architecture: string;
  os: string;
}

export class ImageStore {
  readonly layout: StoreLayout;
  readonly #opts: ImageStoreOptions;
  /** Imports share it; garbage collection takes it alone. */
  readonly #lock = new RwLock();
  /** Names with an import or build under way in this process. */
  readonly #busy = new Set<string>();
  readonly #building = new Map<string, Promise<ImageRecord>>();

  private constructor(opts: ImageStoreOptions) {
    this.#opts = opts;
    this.layout = new StoreLayout(opts.root);
  }

  /**
   * Opens (creating) the store. Whatever an interrupted run left in tmp/ is
   * deleted, and so are blobs and layers no image names (a crash between a
   * layer's rename and the image record).
   */
  static async open(opts: ImageStoreOptions): Promise<ImageStore> {
    const store = new ImageStore(opts);
    const l = store.layout;
    for (const d of [l.blobsDir, l.layersDir, l.imagesDir, l.tmpDir]) await mkdir(d, { recursive: true, mode: 0o700 });
    for (const n of await readdir(l.tmpDir)) await rm(join(l.tmpDir, n), { recursive: true, force: true });
    await store.gc();
    return store;
  }

  async list(): Promise<ImageRecord[]> {
    const names = (await readdir(this.layout.imagesDir)).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5));
    const out: ImageRecord[] = [];
    for (const n of names.sort()) {
      const rec = await this.get(n).catch(() => undefined);
      if (rec) out.push(rec);
    }
    return out;
  }

  async get(name: string): Promise<ImageRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.layout.image(name), 'utf8')) as ImageRecord;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    }
  }

  /** Imports an OCI image layout: a directory, or a tar of one (plain or gzipped). */
  async importOci(path: string, name: string, opts: OciImportOptions = {}): Promise<ImageRecord> {
    return this.#importing(name, opts, async (tmp) => {
      let layoutDir = path;
      let staged = false;
      if (!(await stat(path)).isDirectory()) {
        this.#progress(`${name}: reading archive ${path}`);
        layoutDir = join(tmp, 'layout');
        await mkdir(layoutDir);
        await stageArchive(path, layoutDir);
        staged = true;
      }
      return { parts: await this.#importLayout(layoutDir, name, staged, opts.ref), format: 'oci-layout', source: path };
    });
  }

  /** Imports a root filesystem tarball (plain or gzipped) as a one-layer image. */
  async importRootfs(path: string, name: string, opts: RootfsImportOptions = {}): Promise<ImageRecord> {
    const expect = opts.sha256 === undefined ? undefined : opts.sha256.startsWith('sha256:') ? opts.sha256 : `sha256:${opts.sha256}`;
    if (expect !== undefined) digestHex(expect, 'expected sha256');
    return this.#importing(name, opts, async () => ({
      parts: await this.#rootfsParts(path, name, opts.config ?? {}, expect, false),
      format: 'rootfs',
      source: path,
    }));
  }

  /**
   * The built-in image `name` (busybox, debian, debian:<release>), built on
   * first use and kept. Concurrent callers share one build.
   */
  async ensureBuiltin(name: string): Promise<ImageRecord> {
    const spec = builtinSpec(name);
    if (!spec) throw new Error(`${JSON.stringify(name)} is not a built-in image (busybox, debian, debian:<release>, debian-systemd)`);
    const key = spec.kind === 'debian' ? `debian:${spec.release}` : spec.kind;
    const have = await this.get(key);
    if (have) return have;
    let p = this.#building.get(key);
    if (!p) {
      p = this.#importing(key, {}, async (tmp) => {
        const root = join(tmp, 'rootfs');
        await mkdir(root, { mode: 0o755 });
        this.#progress(`${key}: building`);
        const config =
          spec.kind === 'busybox'
            ? await buildBusybox(root)
            : spec.kind === 'debian-systemd'
              ? // Through debian-vm's debootstrap cache: the same minutes-long step, kept across builds.
                (await debootstrapCached(root, DEBIAN_SYSTEMD_PACKAGES, { release: spec.release, mirror: this.#opts.debianMirror }), { cmd: ['bash'], env: [DEFAULT_PATH] })
              : await buildDebian(root, spec.release, this.#opts.debianMirror);
        const tarball = join(tmp, 'rootfs.tar');
        await tarDirectory(root, tarball);
        await rm(root, { recursive: true, force: true });
        return { parts: await this.#rootfsParts(tarball, key, config, undefined, true), format: 'builtin', source: `builtin:${key}` };
      }).finally(() => this.#building.delete(key));
      this.#building.set(key, p);
    }
    return p;
  }

  /** Removes an image, refusing while it has users; then deletes what no image needs any more. */
  async remove(name: string): Promise<void> {
    checkName(name);
    await this.#lock.exclusive(async () => {
      if (!(await this.get(name))) throw new ImageNotFoundError(name);
      const users = this.#opts.inUse?.(name) ?? [];
      if (users.length) throw new ImageInUseError(name, users);
      await unlink(this.layout.image(name));
      await fsyncPath(this.layout.imagesDir, true);
      await this.#collect();
    });
  }

  /** What the driver needs to run the image; a missing built-in image is built first. */
  async prepare(name: string): Promise<PreparedImage> {
    const rec = (await this.get(name)) ?? (builtinSpec(name) ? await this.ensureBuiltin(name) : undefined);
    if (!rec) throw new ImageNotFoundError(name);
    const lowerDirs = rec.layers.map((d) => this.layout.layer(d)).reverse();
    for (const dir of lowerDirs) if (!(await exists(dir))) throw new Error(`image ${JSON.stringify(name)} is damaged: layer ${dir} is missing; import it again`);
    return { rootfs: { lowerDirs }, config: structuredClone(rec.config), digest: rec.digest };
  }

  /** Deletes blobs and layers that no image record names. */
  async gc(): Promise<{ blobs: number; layers: number }> {
    return this.#lock.exclusive(() => this.#collect());
  }

  async #collect(): Promise<{ blobs: number; layers: number }> {
    const keepBlobs = new Set<string>();
    const keepLayers = new Set<string>();
    for (const n of (await readdir(this.layout.imagesDir)).filter((f) => f.endsWith('.json'))) {
      // An unreadable record must not make its layers look unused: stop.
      let rec: ImageRecord;
      try {
        rec = JSON.parse(await readFile(join(this.layout.imagesDir, n), 'utf8')) as ImageRecord;
      } catch (e) {
        throw new Error(`image record ${join(this.layout.imagesDir, n)} is unreadable (${(e as Error).message}); repair or delete it`);
      }
      rec.blobs.forEach((d) => keepBlobs.add(digestHex(d)));
      rec.layers.forEach((d) => keepLayers.add(digestHex(d)));
    }
    let blobs = 0;
    let layers = 0;
    for (const hex of await readdir(this.layout.blobsDir)) {
      if (keepBlobs.has(hex)) continue;
      await rm(join(this.layout.blobsDir, hex), { force: true });
      blobs++;
    }
    const entries = await readdir(this.layout.layersDir);
    // Directories before their metadata files, the reverse of creation.
    for (const n of [...entries.filter((e) => !e.endsWith('.json')), ...entries.filter((e) => e.endsWith('.json'))]) {
      if (keepLayers.has(n.replace(/\.json$/, ''))) continue;
      await rm(join(this.layout.layersDir, n), { recursive: true, force: true });
      if (!n.endsWith('.json')) layers++;
    }
    return { blobs, layers };
  }

  /**
   * Runs one import: a private tmp/ directory, the name reserved in this
   * process, the shared lock held so that garbage collection waits, and the
   * record written last.
   */
  async #importing(
    name: string,
    opts: ImportOptions,
    work: (tmp: string) => Promise<{ parts: Parts; format: ImageFormat; source: string }>,
  ): Promise<ImageRecord> {
    checkName(name);
    if (this.#busy.has(name)) throw new Error(`image ${JSON.stringify(name)} is already being imported`);
    this.#busy.add(name);
    let replaced = false;
    try {
      const rec = await this.#lock.shared(async () => {
        await this.#checkReplace(name, opts);
        const tmp = tempName(this.layout.tmpDir, 'import');
        await mkdir(tmp);
        try {
          const { parts, format, source } = await work(tmp);
          replaced = await this.#checkReplace(name, opts);
          const record: ImageRecord = { name, ...parts, format, source, importedAt: new Date().toISOString() };
          await atomicWriteJson(this.layout.image(name), record, this.layout.tmpDir);
          this.#progress(`${name}: imported ${record.digest}`);
          return record;
        } finally {
          await rm(tmp, { recursive: true, force: true });
        }
      });
      // The replaced image's layers may now be unused.
      if (replaced) await this.gc();
      return rec;
    } catch (e) {
      // Layers and blobs a failed import already committed belong to no image.
      await this.gc().catch(() => undefined);
      throw e;
    } finally {
      this.#busy.delete(name);
    }
  }

  /** Fails unless `name` is free or may be replaced; true when an image will be replaced. */
  async #checkReplace(name: string, opts: ImportOptions): Promise<boolean> {
    if (!(await this.get(name))) return false;
    if (!opts.replace) throw new Error(`image ${JSON.stringify(name)} already exists; remove it first or import with replace`);
    const users = this.#opts.inUse?.(name) ?? [];
    if (users.length) throw new ImageInUseError(name, users);
    return true;
  }

  async #importLayout(dir: string, name: string, staged: boolean, ref?: string): Promise<Parts> {
    const where = `OCI layout ${dir}`;
    const layoutFile = await readFile(join(dir, 'oci-layout'), 'utf8').catch(() => undefined);
    if (layoutFile !== undefined) {
      const v = (JSON.parse(layoutFile) as { imageLayoutVersion?: string }).imageLayoutVersion;
      if (v !== undefined && !v.startsWith('1.')) throw new Error(`${where}: image layout version ${v} is not supported`);
    }
    const indexText = await readFile(join(dir, 'index.json'), 'utf8').catch((e: unknown) => {
      throw new Error(`${where}: no index.json (${(e as Error).message}); is this an OCI image layout?`);
    });
    const blobs: string[] = [];
    const fetch = async (d: Descriptor, what: string): Promise<StoredBlob> => {
      const b = await ingestBlob(this.layout, { path: join(dir, 'blobs', 'sha256', digestHex(d.digest, `${what} digest`)), digest: d.digest, size: d.size, what, move: staged });
      blobs.push(b.digest);
      return b;
    };
    // index.json → possibly nested indexes → one manifest.
    let desc = chooseManifest(parseIndex(JSON.parse(indexText), `${where} index.json`), `${where} index.json`, ref);
    let manifestJson: unknown;
    for (let depth = 0; ; depth++) {
      if (depth > 4) throw new Error(`${where}: image indexes nested too deep`);
      await fetch(desc, `manifest ${desc.digest}`);
      manifestJson = await readJsonBlob(this.layout, desc.digest, 'manifest');
      if (!isIndex(manifestJson, desc)) break;
      desc = chooseManifest(parseIndex(manifestJson, `index ${desc.digest}`), `index ${desc.digest}`);
    }
    const manifestDigest = desc.digest;
    const manifest = parseManifest(manifestJson, `manifest ${manifestDigest}`);
    await fetch(manifest.config, 'image config');
    const config = parseConfig(await readJsonBlob(this.layout, manifest.config.digest, 'image config'), `config ${manifest.config.digest}`);
    const diffIds = config.rootfs!.diff_ids!;
    if (diffIds.length !== manifest.layers.length) {
      throw new Error(`manifest ${manifestDigest} has ${manifest.layers.length} layers but its config lists ${diffIds.length} diff-ids`);
    }
    const arch = config.architecture ?? hostArchitecture();
    if (arch !== hostArchitecture()) throw new Error(`image ${JSON.stringify(name)} is for ${arch}, this node is ${hostArchitecture()}`);
    let size = 0;
    for (const [i, l] of manifest.layers.entries()) {
      const what = `layer ${i + 1}/${manifest.layers.length} (${l.digest})`;
      this.#progress(`${name}: ${what}`);
      const blob = await fetch(l, what);
      const meta = await ensureLayer(this.layout, blob.path, diffIds[i]!, what);
      this.#reportSkipped(name, what, meta.skipped);
      size += meta.size;
    }
    return { digest: manifestDigest, configDigest: manifest.config.digest, config: runConfig(config), layers: diffIds, blobs, size, architecture: arch, os: config.os ?? 'linux' };
  }

  /**
   * A rootfs tarball as one layer, with an OCI config and manifest made up
   * for it (without timestamps, so the same tarball and settings give the
   * same digest).
   */
  async #rootfsParts(path: string, name: string, config: ImageConfig, expect: string | undefined, move: boolean): Promise<Parts> {
    this.#progress(`${name}: storing ${path}`);
    const blob = await ingestBlob(this.layout, { path, digest: expect, what: `rootfs tarball ${path}`, move });
    this.#progress(`${name}: unpacking`);
    const meta = await ensureLayer(this.layout, blob.path, undefined, `rootfs tarball ${path}`);
    this.#reportSkipped(name, 'rootfs', meta.skipped);
    const gz = (await compressionOf(blob.path)) === 'gzip';
    const architecture = hostArchitecture();
    const cfg = {
      architecture,
      os: 'linux',
      config: { Entrypoint: config.entrypoint, Cmd: config.cmd, Env: config.env, WorkingDir: config.workingDir, User: config.user },
      rootfs: { type: 'layers', diff_ids: [meta.diffId] },
    };
    const cfgBlob = await putBlob(this.layout, JSON.stringify(cfg));
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: cfgBlob.digest, size: cfgBlob.size },
      layers: [{ mediaType: gz ? MEDIA.ociLayerGzip : MEDIA.ociLayer, digest: blob.digest, size: blob.size }],
    };
    const man = await putBlob(this.layout, JSON.stringify(manifest));
    return {
      digest: man.digest,
      configDigest: cfgBlob.digest,
      config: structuredClone(config),
      layers: [meta.diffId],
      blobs: [man.digest, cfgBlob.digest, blob.digest],
      size: meta.size,
      architecture,
      os: 'linux',
    };
  }

  #reportSkipped(name: string, what: string, skipped: string[]): void {
    if (skipped.length) this.#progress(`${name}: ${what}: not unpacked (device nodes, FIFOs): ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ` and ${skipped.length - 5} more` : ''}`);
  }

  #progress(message: string): void {
    this.#opts.onProgress?.(message);
  }
}
