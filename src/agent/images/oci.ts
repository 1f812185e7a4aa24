// The parts of the OCI image layout and image spec that an import reads:
// index.json → (nested index →) manifest → config + layers. Docker's v2
// media types are accepted too, since skopeo can keep them in an OCI layout.
import { mkdir } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ImageConfig } from '../runtime/driver.js';
import { cleanPath, openLayerStream } from './layer-unpack.js';
import { tarEntries } from './tar-reader.js';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

export const REF_NAME = 'org.opencontainers.image.ref.name';

export interface Platform {
  architecture?: string;
  os?: string;
  variant?: string;
}

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface OciIndex {
  schemaVersion?: number;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface OciManifest {
  schemaVersion?: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** The image configuration blob (only the fields Lodge uses). */
export interface OciConfigBlob {
  architecture?: string;
  os?: string;
  config?: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Env?: string[] | null;
    WorkingDir?: string;
    User?: string;
  };
  rootfs?: { type?: string; diff_ids?: string[] };
}

/** The GOARCH-style name OCI uses for this machine. */
export function hostArchitecture(): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[process.arch] ?? process.arch;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkDescriptor(d: unknown, where: string): Descriptor {
  if (!isObject(d) || typeof d.digest !== 'string') throw new Error(`${where}: not a descriptor (no digest)`);
  if (d.size !== undefined && (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0)) throw new Error(`${where}: bad size`);
  return d as unknown as Descriptor;
}

export function parseIndex(json: unknown, where: string): OciIndex {
  if (!isObject(json) || !Array.isArray(json.manifests)) throw new Error(`${where}: not an OCI image index (no manifests list)`);
  json.manifests.forEach((m, i) => checkDescriptor(m, `${where} manifests[${i}]`));
  return json as unknown as OciIndex;
}

export function parseManifest(json: unknown, where: string): OciManifest {
  if (!isObject(json) || !Array.isArray(json.layers)) throw new Error(`${where}: not an image manifest (no layers list)`);
  checkDescriptor(json.config, `${where} config`);
  json.layers.forEach((l, i) => checkDescriptor(l, `${where} layers[${i}]`));
  return json as unknown as OciManifest;
}

export function parseConfig(json: unknown, where: string): OciConfigBlob {
  if (!isObject(json)) throw new Error(`${where}: not an image configuration`);
  const ids = isObject(json.rootfs) ? json.rootfs.diff_ids : undefined;
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) throw new Error(`${where}: no rootfs.diff_ids list`);
  return json as OciConfigBlob;
}

/** Whether a blob is an index rather than a manifest (by media type, else by shape). */
export function isIndex(json: unknown, desc?: Descriptor): boolean {
  const mt = desc?.mediaType ?? (isObject(json) ? json.mediaType : undefined);
  if (mt === MEDIA.ociIndex || mt === MEDIA.dockerList) return true;
  if (mt === MEDIA.ociManifest || mt === MEDIA.dockerManifest) return false;
  return isObject(json) && Array.isArray(json.manifests);
}

/**
 * Picks one entry of an index: the one tagged `ref` if given, else the only
 * one, else the one for this machine's platform.
 */
export function chooseManifest(index: OciIndex, where: string, ref?: string): Descriptor {
  const list = index.manifests;
  if (ref !== undefined) {
    const hit = list.filter((m) => m.annotations?.[REF_NAME] === ref || m.annotations?.['io.containerd.image.name']?.endsWith(`:${ref}`));
    if (hit.length === 1) return hit[0]!;
    const refs = list.map((m) => m.annotations?.[REF_NAME]).filter((r): r is string => r !== undefined);
    throw new Error(`${where}: ${hit.length ? 'several images are' : 'no image is'} tagged ${JSON.stringify(ref)}${refs.length ? ` (tags: ${refs.join(', ')})` : ''}`);
  }
  if (list.length === 1) return list[0]!;
  if (list.length === 0) throw new Error(`${where}: the index lists no images`);
  const arch = hostArchitecture();
  const mine = list.filter((m) => m.platform?.architecture === arch && (m.platform.os ?? 'linux') === 'linux');
  if (mine.length === 1) return mine[0]!;
  const refs = list.map((m) => m.annotations?.[REF_NAME] ?? m.digest);
  throw new Error(`${where}: ${list.length} images and none chosen; name one by tag (${refs.join(', ')})`);
}

/** The run settings of an image configuration, in the driver's shape. */
export function runConfig(c: OciConfigBlob): ImageConfig {
  const out: ImageConfig = {};
  const cc = c.config ?? {};
  if (cc.Entrypoint?.length) out.entrypoint = [...cc.Entrypoint];
  if (cc.Cmd?.length) out.cmd = [...cc.Cmd];
  if (cc.Env?.length) out.env = [...cc.Env];
  if (cc.WorkingDir) out.workingDir = cc.WorkingDir;
  if (cc.User) out.user = cc.User;
  return out;
}

/**
 * Copies what an OCI archive (a tar of a layout, as `podman save --format
 * oci-archive` writes; gzipped is fine) holds of its layout into `dir`:
 * oci-layout, index.json and blobs/sha256/*. Blobs are verified later,
 * against the digests that name them.
 */
export async function stageArchive(archive: string, dir: string): Promise<void> {
  let sawIndex = false;
  let sawDockerManifest = false;
  for await (const e of tarEntries(await openLayerStream(archive))) {
    const rel = cleanPath(e.path);
    if (rel === 'manifest.json') sawDockerManifest = true;
    const wanted = rel === 'index.json' || rel === 'oci-layout' || /^blobs\/sha256\/[a-f0-9]{64}$/.test(rel);
    if (!wanted || (e.type !== 'File' && e.type !== 'OldFile' && e.type !== 'ContiguousFile')) continue;
    if (rel === 'index.json') sawIndex = true;
    const dest = join(dir, rel);
    await mkdir(dirname(dest), { recursive: true });
    await pipeline(e, createWriteStream(dest, { flags: 'w', mode: 0o644 }));
  }
  if (!sawIndex) {
    if (sawDockerManifest) throw new Error(`${archive} is a docker-archive (docker save); import an OCI archive instead (podman save --format oci-archive, or skopeo copy docker-archive:FILE oci-archive:OUT)`);
    throw new Error(`${archive} is not an OCI image archive: it has no index.json`);
  }
}
