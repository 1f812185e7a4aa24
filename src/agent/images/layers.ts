// Layers are unpacked once per diff-id: into tmp/, checked against the
// diff-id the image's config claims, synced to disk, then renamed into
// layers/sha256/. An existing layer is reused as is.
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { DigestMismatchError } from './digest.js';
import { atomicWriteJson, exists, fsyncPath, isErrno, tempName } from './fsutil.js';
import { unpackLayer } from './layer-unpack.js';
import type { LayerMeta, StoreLayout } from './layout.js';
import { run } from './run.js';

export async function readLayerMeta(layout: StoreLayout, diffId: string): Promise<LayerMeta> {
  try {
    return JSON.parse(await readFile(layout.layerMeta(diffId), 'utf8')) as LayerMeta;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return { diffId, size: 0, skipped: [] };
    throw e;
  }
}

/** Unpacks under way in this process, by layer path: two imports sharing a layer unpack it once. */
const inFlight = new Map<string, Promise<LayerMeta>>();

/**
 * Unpacks the layer blob at `blobPath` unless the layer `diffId` is already
 * there; with no `diffId` (a rootfs tarball) the content names it.
 */
export async function ensureLayer(layout: StoreLayout, blobPath: string, diffId: string | undefined, what: string): Promise<LayerMeta> {
  if (diffId === undefined) return unpackNew(layout, blobPath, undefined, what);
  const key = layout.layer(diffId);
  let p = inFlight.get(key);
  if (!p) {
    p = unpackNew(layout, blobPath, diffId, what).finally(() => inFlight.delete(key));
    inFlight.set(key, p);
  }
  return p;
}

async function unpackNew(layout: StoreLayout, blobPath: string, diffId: string | undefined, what: string): Promise<LayerMeta> {
  if (diffId !== undefined && (await exists(layout.layer(diffId)))) return readLayerMeta(layout, diffId);
  const tmp = tempName(layout.tmpDir, 'layer');
  try {
    await mkdir(tmp, { mode: 0o755 });
    const got = await unpackLayer(blobPath, tmp).catch((e: unknown) => {
      throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
    });
    if (diffId !== undefined && got.diffId !== diffId) throw new DigestMismatchError(`${what} (uncompressed content, the diff-id)`, diffId, got.diffId);
    const meta: LayerMeta = { diffId: got.diffId, size: got.size, skipped: got.skipped };
    if (await exists(layout.layer(meta.diffId))) return readLayerMeta(layout, meta.diffId);
    // A layer is many files: one syncfs before the rename makes them all
    // durable, so a power cut cannot leave a named layer with empty files.
    await run('sync', ['-f', tmp]);
    // The metadata goes first: a layer directory never exists without it.
    await atomicWriteJson(layout.layerMeta(meta.diffId), meta, layout.tmpDir);
    try {
      await rename(tmp, layout.layer(meta.diffId));
    } catch (e) {
      // Another import committed the same layer meanwhile: keep theirs.
      if (!isErrno(e, 'ENOTEMPTY', 'EEXIST')) throw e;
    }
    await fsyncPath(layout.layersDir, true);
    return meta;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
