// OCI image layouts and tarballs built by tests, as skopeo's oci: transport
// and podman's oci-archive write them, for the image store's tests and the
// end-to-end image tests.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sha256 } from '../../src/agent/images/digest.js';
import { hostArchitecture, MEDIA } from '../../src/agent/images/oci.js';
import { run } from '../../src/agent/images/run.js';

/** A tar of `dir` as GNU tar writes it, optionally gzipped. */
export async function tarOf(dir: string, out: string, gzip: boolean): Promise<Buffer> {
  await run('tar', ['--create', `--file=${out}`, `--directory=${dir}`, '--numeric-owner', '--sort=name', '.']);
  const raw = await readFile(out);
  return gzip ? gzipSync(raw) : raw;
}

export interface LayoutImage {
  layers: Array<{ tar: Buffer; gzip: boolean }>;
  config: Record<string, unknown>;
  ref?: string;
  /** Override the diff-ids the config claims. */
  diffIds?: string[];
}

/** Writes an OCI image layout (as skopeo's oci: transport does) into `dir`. */
export async function writeLayout(dir: string, images: LayoutImage[]): Promise<{ manifests: string[]; layerDigests: string[][] }> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = async (data: Buffer | string): Promise<{ digest: string; size: number }> => {
    const digest = sha256(data);
    await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), data);
    return { digest, size: Buffer.byteLength(data) };
  };
  const manifests: Array<Record<string, unknown>> = [];
  const layerDigests: string[][] = [];
  for (const img of images) {
    const blobs = [];
    const diffIds = [];
    for (const l of img.layers) {
      const stored = l.gzip ? gzipSync(l.tar) : l.tar;
      blobs.push({ mediaType: l.gzip ? MEDIA.ociLayerGzip : MEDIA.ociLayer, ...(await put(stored)) });
      diffIds.push(sha256(l.tar));
    }
    const config = { architecture: hostArchitecture(), os: 'linux', config: img.config, rootfs: { type: 'layers', diff_ids: img.diffIds ?? diffIds } };
    const cfg = await put(JSON.stringify(config));
    const man = await put(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, ...cfg }, layers: blobs }));
    manifests.push({ mediaType: MEDIA.ociManifest, ...man, ...(img.ref ? { annotations: { 'org.opencontainers.image.ref.name': img.ref } } : {}) });
    layerDigests.push(blobs.map((b) => b.digest));
  }
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests }));
  return { manifests: manifests.map((m) => m.digest as string), layerDigests };
}
