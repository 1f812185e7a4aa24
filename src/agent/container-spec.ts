// From a Pod's container (and its image's config) to what the driver runs:
// argv, working dir and cgroup limits, as the kubelet resolves them (the
// environment is env-resolver.ts, volumes volumes/).
import { parseQuantity } from '../apis/core/v1/quantity.js';
import { ContainerConfigError, expand, type EnvContainer } from './env-resolver.js';
import type { ImageConfig, ResourceLimits } from './runtime/driver.js';
import type { VolumeMount } from './volumes/pod-volumes.js';

export interface PodContainer extends EnvContainer {
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  volumeMounts?: VolumeMount[];
  /** Keep stdin open for attaching clients (kubectl attach -i, kubectl run -i); stdinOnce: close it after the first session. */
  stdin?: boolean;
  stdinOnce?: boolean;
  /** Run on a terminal (kubectl run -t): one output stream, resizable through attach. */
  tty?: boolean;
}

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

/**
 * Kubernetes' rules: command replaces the entrypoint (and drops cmd), args
 * replace cmd. $(VAR) in the Pod's command and args (not the image's) refers
 * to the container's own variables, as the kubelet expands them.
 */
export function resolveArgs(c: PodContainer, img: ImageConfig, env: Map<string, string> = new Map()): string[] {
  const x = (list: string[] | undefined): string[] => (list ?? []).map((a) => expand(a, (n) => env.get(n)));
  const argv = c.command?.length ? [...x(c.command), ...x(c.args)] : [...(img.entrypoint ?? []), ...(c.args?.length ? x(c.args) : (img.cmd ?? []))];
  if (!argv.length) throw new ContainerConfigError(`container ${c.name}: no command: neither the Pod nor image ${c.image} says what to run`);
  return argv;
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
