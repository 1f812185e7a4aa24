// From a Pod's container (and its image's config) to what the driver runs:
// argv, env, working dir and cgroup limits, as the kubelet resolves them.
import { parseQuantity } from '../apis/core/v1/quantity.js';
import type { ImageConfig, ResourceLimits } from './runtime/driver.js';

export interface PodContainer {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  workingDir?: string;
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const CONTAINER_ID = new RegExp(`^p-(${UUID})-(.+)$`);

/** The driver id of a Pod's container: "p-<pod uid>-<container name>", so a restarted agent can match it to its Pod. */
export function containerId(podUid: string, container: string): string {
  return `p-${podUid}-${container}`;
}

export function parseContainerId(id: string): { podUid: string; container: string } | undefined {
  const m = CONTAINER_ID.exec(id);
  return m ? { podUid: m[1]!, container: m[2]! } : undefined;
}

/** The node's image store name for a Pod's image: any busybox tag is the built-in busybox. */
export function storeImageName(image: string): string {
  return image === 'busybox' || image.startsWith('busybox:') ? 'busybox' : image;
}

/** Kubernetes' rules: command replaces the entrypoint (and drops cmd), args replace cmd. */
export function resolveArgs(c: PodContainer, img: ImageConfig): string[] {
  const argv = c.command?.length ? [...c.command, ...(c.args ?? [])] : [...(img.entrypoint ?? []), ...(c.args?.length ? c.args : (img.cmd ?? []))];
  if (!argv.length) throw new Error(`container ${c.name}: no command: neither the Pod nor image ${c.image} says what to run`);
  return argv;
}

export function resolveEnv(c: PodContainer, img: ImageConfig): string[] {
  const env = new Map<string, string>();
  for (const kv of img.env ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) env.set(kv.slice(0, i), kv.slice(i + 1));
  }
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH.slice(5));
  // $(VAR) references to earlier variables are expanded, as the kubelet does; valueFrom comes later.
  for (const e of c.env ?? []) {
    if (e.valueFrom !== undefined) continue;
    const v = (e.value ?? '').replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => (m === '$$' ? '$' : (env.get(name!) ?? m)));
    env.set(e.name, v);
  }
  return [...env].map(([k, v]) => `${k}=${v}`);
}

export function resolveLimits(c: PodContainer): ResourceLimits {
  const out: ResourceLimits = {};
  const lim = c.resources?.limits ?? {};
  const req = c.resources?.requests ?? {};
  const cpu = parseQuantity(lim.cpu);
  if (cpu !== undefined && cpu > 0) out.cpuMillis = Math.max(1, Math.round(cpu * 1000));
  const cpuReq = parseQuantity(req.cpu);
  if (cpuReq !== undefined && cpuReq > 0) out.cpuRequestMillis = Math.max(1, Math.round(cpuReq * 1000));
  const mem = parseQuantity(lim.memory);
  if (mem !== undefined && mem > 0) out.memoryBytes = Math.round(mem);
  return out;
}
