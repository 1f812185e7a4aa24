// Pod defaults that need logic beyond the schema's `default` keywords. Used
// for Pods and for the pod templates of Deployments and ReplicaSets alike.
import type { Container, PodSpec, ResourceList, Toleration } from './types.js';
import { parseQuantity } from './quantity.js';

/**
 * Kubernetes' rule: images tagged :latest, or with neither tag nor digest,
 * are pulled Always (the tag moves); anything else IfNotPresent.
 */
export function defaultPullPolicy(image: string | undefined): 'Always' | 'IfNotPresent' {
  if (!image) return 'IfNotPresent';
  const name = image.split('@')[0];
  const hasDigest = image.includes('@');
  const lastSlash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  const tag = colon > lastSlash ? name.slice(colon + 1) : undefined;
  if (tag === 'latest') return 'Always';
  if (tag === undefined && !hasDigest) return 'Always';
  return 'IfNotPresent';
}

function allContainers(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
}

/** Defaults of a pod spec wherever it appears (Pod, templates). Mutates spec. */
export function applyPodSpecDefaults(spec: PodSpec | undefined): void {
  if (!spec) return;
  spec.securityContext ??= {};
  for (const c of allContainers(spec)) {
    if (!c || typeof c !== 'object') continue;
    c.imagePullPolicy ??= defaultPullPolicy(c.image);
    for (const p of c.ports ?? []) {
      p.protocol ??= 'TCP';
      // With the host's network the container port is the host port.
      if (spec.hostNetwork && p.hostPort === undefined) p.hostPort = p.containerPort;
    }
  }
}

/**
 * A Pod (not a template): requests default to limits for each resource with
 * a limit but no request, so "limits only" means Guaranteed as in Kubernetes.
 */
export function applyPodDefaults(spec: PodSpec | undefined): void {
  applyPodSpecDefaults(spec);
  if (!spec) return;
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const limits = c?.resources?.limits;
    if (!limits || !Object.keys(limits).length) continue;
    const requests: ResourceList = (c.resources!.requests ??= {});
    for (const [name, value] of Object.entries(limits)) if (requests[name] === undefined) requests[name] = value;
  }
}

/** Taints the node lifecycle controller puts on a node whose agent reports Ready=False, or stopped reporting. */
export const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
export const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';
/** Kubernetes' --default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds. */
export const DEFAULT_TOLERATION_SECONDS = 300;

/**
 * Kubernetes' DefaultTolerationSeconds admission, for Pods being created
 * (never on update: a Pod's tolerations may only grow, and one stored
 * without them keeps its choice). A Pod rides out a short node outage for
 * five minutes before taint eviction deletes it, unless it already says how
 * long it tolerates that taint (or tolerates every key, or every effect).
 */
export function applyDefaultTolerations(spec: PodSpec | undefined): void {
  if (!spec) return;
  const tolerations: Toleration[] = spec.tolerations ?? [];
  const covers = (key: string): boolean => tolerations.some((t) => (!t.key || t.key === key) && (!t.effect || t.effect === 'NoExecute'));
  const added: Toleration[] = [];
  for (const key of [NOT_READY_TAINT, UNREACHABLE_TAINT])
    if (!covers(key)) added.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: DEFAULT_TOLERATION_SECONDS });
  if (added.length) spec.tolerations = [...tolerations, ...added];
}

/** Quality of service class from cpu/memory requests and limits. */
export function qosClass(spec: PodSpec | undefined): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
  let anySet = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      const rq = parseQuantity(req[r]);
      const lm = parseQuantity(lim[r]);
      if ((rq !== undefined && rq !== 0) || (lm !== undefined && lm !== 0)) anySet = true;
      if (lm === undefined || (rq ?? lm) !== lm) guaranteed = false;
    }
  }
  if (!anySet) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
