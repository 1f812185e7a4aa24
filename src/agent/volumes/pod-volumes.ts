// From a container's volumeMounts to the bind mounts the driver makes: each
// volume is prepared on the host under <pod dir>/volumes/<plugin>/<name>
// (the kubelet's layout) and bind-mounted at mountPath, optionally a subPath
// of it and read-only. emptyDir is a directory (or tmpfs) shared by the
// Pod's containers; configMap and secret volumes are the object's keys
// projected as files, written when a container that mounts them is created
// (secrets on a tmpfs, so they never reach the disk). Every other volume
// type is refused with a message naming the volume, which the agent reports
// as CreateContainerConfigError instead of failing the whole Pod.
import { lstat, mkdir, readdir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import type { KubeObject } from '../../apis/types.js';
import { ContainerConfigError, expand, objectData, type ConfigSource } from '../env-resolver.js';
import type { WorkloadSpec } from '../runtime/driver.js';
import { ensureEmptyDir, ensureTmpfs, type EmptyDirSource } from './empty-dir.js';

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
  subPathExpr?: string;
}

interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}
interface ProjectedSource {
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}
export interface PodVolume {
  name: string;
  emptyDir?: EmptyDirSource;
  configMap?: ProjectedSource & { name?: string };
  secret?: ProjectedSource & { secretName?: string };
  [source: string]: unknown;
}

export const SUPPORTED_VOLUMES = ['emptyDir', 'configMap', 'secret'];

/** <pod dir>/volumes/kubernetes.io~<plugin>/<name>, as the kubelet lays them out. */
export function volumeDir(podDir: string, plugin: 'empty-dir' | 'configmap' | 'secret', name: string): string {
  return join(podDir, 'volumes', `kubernetes.io~${plugin}`, name);
}

export interface MountContext {
  pod: KubeObject;
  /** The Pod's state dir on the host. */
  podDir: string;
  source: ConfigSource;
  /** The container's variables, for subPathExpr. */
  env: Map<string, string>;
}

/** Prepare every volume the container mounts and return its bind mounts. */
export async function containerMounts(mounts: VolumeMount[] | undefined, ctx: MountContext): Promise<WorkloadSpec['mounts']> {
  const volumes = ((ctx.pod.spec as { volumes?: PodVolume[] } | undefined)?.volumes ?? []);
  const out: WorkloadSpec['mounts'] = [];
  for (const m of mounts ?? []) {
    const v = volumes.find((x) => x.name === m.name);
    // Validation rejects a mount of an undeclared volume; a Pod stored before that rule still gets a clear message.
    if (!v) throw new ContainerConfigError(`volumeMount ${JSON.stringify(m.mountPath)} refers to volume "${m.name}", which the Pod does not declare`);
    const { dir, readOnly } = await prepareVolume(v, ctx);
    const sub = m.subPathExpr ? expand(m.subPathExpr, (n) => ctx.env.get(n)) : m.subPath;
    out.push({ source: sub ? await subPathSource(dir, sub, v.name) : dir, destination: m.mountPath, readOnly: readOnly || m.readOnly === true });
  }
  return out;
}

async function prepareVolume(v: PodVolume, ctx: MountContext): Promise<{ dir: string; readOnly: boolean }> {
  if (v.emptyDir) {
    const dir = volumeDir(ctx.podDir, 'empty-dir', v.name);
    try {
      await ensureEmptyDir(dir, v.emptyDir, v.name);
    } catch (e) {
      throw new ContainerConfigError((e as Error).message);
    }
    return { dir, readOnly: false };
  }
  if (v.configMap || v.secret) {
    const secret = !v.configMap;
    const src = (v.configMap ?? v.secret)!;
    const name = v.configMap ? (v.configMap.name ?? '') : (v.secret!.secretName ?? '');
    const dir = volumeDir(ctx.podDir, secret ? 'secret' : 'configmap', v.name);
    await mkdir(dir, { recursive: true });
    // The kubelet keeps secrets in memory only.
    if (secret) await ensureTmpfs(dir, undefined, 0o755);
    const ns = String(ctx.pod.metadata.namespace ?? 'default');
    let obj: KubeObject | undefined;
    try {
      obj = secret ? await ctx.source.secret(ns, name) : await ctx.source.configMap(ns, name);
    } catch (e) {
      throw new ContainerConfigError(`volume "${v.name}": couldn't get ${secret ? 'secret' : 'configMap'} ${ns}/${name}: ${(e as Error).message}`);
    }
    if (!obj && !src.optional) throw new ContainerConfigError(`volume "${v.name}": ${secret ? 'secret' : 'configmap'} "${name}" not found`);
    const data = obj ? objectData(secret ? 'secret' : 'configmap', obj) : new Map<string, string>();
    const binary = (obj as { binaryData?: Record<string, string> } | undefined)?.binaryData ?? {};
    const files = new Map<string, { content: Buffer; mode: number }>();
    const mode = src.defaultMode ?? 0o644;
    const content = (key: string): Buffer | undefined => (data.has(key) ? Buffer.from(data.get(key)!, 'utf8') : binary[key] !== undefined ? Buffer.from(binary[key]!, 'base64') : undefined);
    if (src.items?.length) {
      for (const it of src.items) {
        const c = content(it.key);
        if (c === undefined) {
          if (src.optional) continue;
          throw new ContainerConfigError(`volume "${v.name}": ${secret ? 'secret' : 'configmap'} "${name}" has no key ${it.key}`);
        }
        files.set(it.path, { content: c, mode: it.mode ?? mode });
      }
    } else {
      for (const key of [...data.keys(), ...Object.keys(binary)]) files.set(key, { content: content(key)!, mode });
    }
    await writeFiles(dir, files);
    // Always read-only in the container, as in Kubernetes.
    return { dir, readOnly: true };
  }
  const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
  throw new ContainerConfigError(`volume "${v.name}": ${kind} volumes are not supported on this node (supported: ${SUPPORTED_VOLUMES.join(', ')})`);
}

/** Replace the projected files of a volume (each written to a temp name and renamed, so a reader never sees half a file). */
async function writeFiles(dir: string, files: Map<string, { content: Buffer; mode: number }>): Promise<void> {
  const keep = new Set([...files.keys()].map((p) => p.split('/')[0]!));
  for (const name of await readdir(dir)) if (!keep.has(name)) await rm(join(dir, name), { recursive: true, force: true });
  for (const [path, f] of files) {
    if (path.startsWith('/') || path.split('/').includes('..')) throw new ContainerConfigError(`projected path ${JSON.stringify(path)} must be relative, without '..'`);
    const file = join(dir, path);
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.lodge-tmp`;
    await writeFile(tmp, f.content, { mode: f.mode });
    await rename(tmp, file);
  }
}

/**
 * The host path of a subPath, made (as a directory) if missing. A symlink
 * planted by a container must not lead the bind outside the volume, so the
 * resolved path is checked against the volume's own.
 */
async function subPathSource(dir: string, sub: string, volume: string): Promise<string> {
  if (sub.startsWith('/') || sub.split('/').includes('..')) throw new ContainerConfigError(`volume "${volume}": subPath ${JSON.stringify(sub)} must be relative, without '..'`);
  const path = join(dir, sub);
  const exists = await lstat(path).then(
    () => true,
    () => false,
  );
  if (!exists) await mkdir(path, { recursive: true, mode: 0o777 });
  const [real, root] = await Promise.all([realpath(path), realpath(dir)]);
  if (real !== root && !real.startsWith(root + sep)) throw new ContainerConfigError(`volume "${volume}": subPath ${JSON.stringify(sub)} resolves outside the volume`);
  return real;
}
