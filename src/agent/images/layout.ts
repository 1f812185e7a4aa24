// Where things live under the store's root, and the record of one image.
//
//   blobs/sha256/<hex>          manifests, configs and layer blobs as imported
//   layers/sha256/<hex>/        a layer unpacked, named by its diff-id; read-only
//                               use as an overlayfs lowerdir
//   layers/sha256/<hex>.json    what unpacking found (size, skipped entries)
//   images/<name>.json          an image: the record below
//   tmp/                        work in progress; emptied on open
//
// Everything becomes visible by a rename out of tmp/, and an image exists
// only once its record does, so a crash leaves at worst unreferenced blobs
// and layers, which garbage collection removes.
import { join } from 'node:path';
import type { ImageConfig } from '../runtime/driver.js';
import { digestHex } from './digest.js';

export type ImageFormat = 'oci-layout' | 'rootfs' | 'builtin';

export interface ImageRecord {
  name: string;
  /** Digest of the image manifest (synthesized for rootfs and built-in images). */
  digest: string;
  configDigest: string;
  config: ImageConfig;
  /** Layer diff-ids, bottom layer first. */
  layers: string[];
  /** Every blob the image keeps: manifest, config, layers. */
  blobs: string[];
  /** Bytes of the uncompressed layers. */
  size: number;
  format: ImageFormat;
  /** Where it came from: a path, or builtin:<name>. */
  source: string;
  architecture: string;
  os: string;
  /** RFC 3339. */
  importedAt: string;
}

export interface LayerMeta {
  diffId: string;
  size: number;
  skipped: string[];
}

/** Store names: lower-case, one optional :tag, safe as file names. */
const NAME = /^[a-z0-9][a-z0-9._-]*(?::[a-z0-9][a-z0-9._-]*)?$/;

export function checkName(name: string): void {
  if (name.length > 200 || !NAME.test(name)) {
    throw new Error(`invalid image name ${JSON.stringify(name)}: use lower-case letters, digits, '.', '_', '-' and at most one ':tag'`);
  }
}

export class StoreLayout {
  constructor(readonly root: string) {}
  get blobsDir(): string {
    return join(this.root, 'blobs', 'sha256');
  }
  get layersDir(): string {
    return join(this.root, 'layers', 'sha256');
  }
  get imagesDir(): string {
    return join(this.root, 'images');
  }
  get tmpDir(): string {
    return join(this.root, 'tmp');
  }
  blob(digest: string): string {
    return join(this.blobsDir, digestHex(digest));
  }
  layer(diffId: string): string {
    return join(this.layersDir, digestHex(diffId, 'diff-id'));
  }
  layerMeta(diffId: string): string {
    return `${this.layer(diffId)}.json`;
  }
  image(name: string): string {
    checkName(name);
    return join(this.imagesDir, `${name}.json`);
  }
}
