// A container's environment, resolved the way the kubelet does it
// (makeEnvironmentVariables): envFrom sources first, then env in order, each
// value either $(VAR)-expanded against what came before or read from
// valueFrom (a field of the Pod, a resource of a container, a ConfigMap or
// Secret key). The image's own env is underneath all of it, but $(VAR) never
// sees it — as in Kubernetes, where expansion happens before the runtime
// merges in the image config. A missing ConfigMap or Secret that is not
// optional fails the container's creation with the kubelet's message; the
// agent reports that as CreateContainerConfigError and retries later.
import { cpus, totalmem } from 'node:os';
import { parseQuantity } from '../apis/core/v1/quantity.js';
import type { KubeObject } from '../apis/types.js';
import type { ImageConfig } from './runtime/driver.js';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// IsEnvVarName: envFrom keys that are not valid names are skipped, as the kubelet does.
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** The container's configuration cannot be resolved (yet): waiting reason CreateContainerConfigError. */
export class ContainerConfigError extends Error {}

interface KeyRef {
  name?: string;
  key: string;
  optional?: boolean;
}
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { containerName?: string; resource: string; divisor?: string | number };
    configMapKeyRef?: KeyRef;
    secretKeyRef?: KeyRef;
  };
}
export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name?: string; optional?: boolean };
  secretRef?: { name?: string; optional?: boolean };
}
export interface EnvContainer {
  name: string;
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
}

/** Reads ConfigMaps and Secrets of the Pod's namespace; undefined when there is none by that name. */
export interface ConfigSource {
  configMap(namespace: string, name: string): Promise<KubeObject | undefined>;
  secret(namespace: string, name: string): Promise<KubeObject | undefined>;
}

export interface EnvContext {
  pod: KubeObject;
  /** This node's address (status.hostIP). */
  hostIP: string;
  source: ConfigSource;
}

/** The string data of a ConfigMap or (decoded) Secret. */
export function objectData(kind: 'configmap' | 'secret', obj: KubeObject): Map<string, string> {
  const out = new Map<string, string>();
  const data = (obj as { data?: Record<string, unknown> }).data ?? {};
  for (const [k, v] of Object.entries(data)) out.set(k, kind === 'secret' ? Buffer.from(String(v), 'base64').toString('utf8') : String(v));
  return out;
}

/**
 * Kubernetes' $(VAR) expansion (third_party/forked/golang/expansion): a
 * reference to an unknown name stays as written, "$$" is a literal "$", and a
 * "$" before anything else is kept.
 */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let checkpoint = 0;
  for (let i = 0; i < input.length; i++) {
    if (input[i] !== '$' || i + 1 >= input.length) continue;
    out += input.slice(checkpoint, i);
    const rest = input.slice(i + 1);
    let advance = 1;
    if (rest[0] === '$') out += '$';
    else if (rest[0] === '(') {
      const close = rest.indexOf(')');
      if (close > 0) {
        const name = rest.slice(1, close);
        out += lookup(name) ?? `$(${name})`;
        advance = close + 1;
      } else out += '$(';
    } else out += `$${rest[0]}`;
    i += advance;
    checkpoint = i + 1;
  }
  return out + input.slice(checkpoint);
}

/** A Pod field for a fieldRef (k8s.io/kubernetes/pkg/fieldpath with the kubelet's pod-specific fields). */
export function podFieldValue(pod: KubeObject, fieldPath: string, hostIP: string): string {
  const meta = pod.metadata;
  const subscript = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fieldPath);
  if (subscript) {
    const map = (subscript[1] === 'labels' ? meta.labels : meta.annotations) as Record<string, string> | undefined;
    return map?.[subscript[2]!] ?? '';
  }
  const status = (pod.status ?? {}) as { podIP?: string; podIPs?: Array<{ ip?: string }>; hostIP?: string };
  const spec = (pod.spec ?? {}) as { nodeName?: string; serviceAccountName?: string };
  switch (fieldPath) {
    case 'metadata.name':
      return String(meta.name ?? '');
    case 'metadata.namespace':
      return String(meta.namespace ?? '');
    case 'metadata.uid':
      return String(meta.uid ?? '');
    case 'spec.nodeName':
      return spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return spec.serviceAccountName ?? '';
    case 'status.hostIP':
      return hostIP;
    case 'status.hostIPs':
      return hostIP;
    // Empty until the Pod has a network of its own.
    case 'status.podIP':
      return status.podIP ?? '';
    case 'status.podIPs':
      return (status.podIPs ?? []).map((p) => p.ip ?? '').filter(Boolean).join(',');
    default:
      throw new ContainerConfigError(`unsupported fieldPath: ${fieldPath}`);
  }
}

/**
 * A request or limit in units of divisor, rounded up (the kubelet's
 * ExtractContainerResourceValue). An unset limit is the node's capacity,
 * as the kubelet substitutes node allocatable.
 */
export function resourceFieldValue(pod: KubeObject, self: string, ref: { containerName?: string; resource: string; divisor?: string | number }): string {
  const spec = (pod.spec ?? {}) as { containers?: EnvContainer[]; initContainers?: EnvContainer[] };
  const name = ref.containerName || self;
  const c = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].find((x) => x.name === name);
  if (!c) throw new ContainerConfigError(`container ${name} not found in pod ${pod.metadata.namespace}/${pod.metadata.name} (resourceFieldRef)`);
  const m = /^(limits|requests)\.(.+)$/.exec(ref.resource);
  if (!m) throw new ContainerConfigError(`unsupported container resource: ${ref.resource}`);
  const kind = m[1] === 'limits' ? 'limits' : 'requests';
  const resource = m[2]!;
  let value = parseQuantity(c.resources?.[kind]?.[resource]);
  if (value === undefined && kind === 'limits') value = resource === 'cpu' ? cpus().length : resource === 'memory' ? totalmem() : undefined;
  value ??= 0;
  const divisor = parseQuantity(ref.divisor ?? 1) || 1;
  // CPU in whole millicores, like Quantity.MilliValue(), so 100m / 1m is exactly 100.
  if (resource === 'cpu') return String(Math.ceil(Math.round(value * 1000) / Math.max(1, Math.round(divisor * 1000))));
  return String(Math.ceil(value / divisor));
}

/**
 * The container's variables as the kubelet hands them to the runtime:
 * envFrom, then env; returned in order, later entries winning.
 */
export async function containerEnv(c: EnvContainer, ctx: EnvContext): Promise<Map<string, string>> {
  const ns = String(ctx.pod.metadata.namespace ?? 'default');
  const env = new Map<string, string>();
  const cache = new Map<string, Map<string, string> | undefined>();
  // One read per object per resolution; undefined when not found.
  const read = async (kind: 'configmap' | 'secret', name: string): Promise<Map<string, string> | undefined> => {
    const key = `${kind}/${name}`;
    if (!cache.has(key)) {
      let obj: KubeObject | undefined;
      try {
        obj = kind === 'configmap' ? await ctx.source.configMap(ns, name) : await ctx.source.secret(ns, name);
      } catch (e) {
        throw new ContainerConfigError(`couldn't get ${kind === 'configmap' ? 'configMap' : 'secret'} ${ns}/${name}: ${(e as Error).message}`);
      }
      cache.set(key, obj && objectData(kind, obj));
    }
    return cache.get(key);
  };

  for (const from of c.envFrom ?? []) {
    const kind = from.configMapRef ? 'configmap' : 'secret';
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const data = await read(kind, ref.name ?? '');
    if (!data) {
      if (ref.optional) continue;
      throw new ContainerConfigError(`${kind} "${ref.name ?? ''}" not found`);
    }
    for (const [k, v] of data) {
      const name = `${from.prefix ?? ''}${k}`;
      if (ENV_NAME.test(name)) env.set(name, v);
    }
  }

  for (const e of c.env ?? []) {
    const from = e.valueFrom;
    if (!from) {
      env.set(e.name, e.value ? expand(e.value, (n) => env.get(n)) : '');
      continue;
    }
    if (from.fieldRef) env.set(e.name, podFieldValue(ctx.pod, from.fieldRef.fieldPath, ctx.hostIP));
    else if (from.resourceFieldRef) env.set(e.name, resourceFieldValue(ctx.pod, c.name, from.resourceFieldRef));
    else {
      const kind = from.configMapKeyRef ? 'configmap' : 'secret';
      const ref = from.configMapKeyRef ?? from.secretKeyRef;
      if (!ref) continue;
      const data = await read(kind, ref.name ?? '');
      if (!data) {
        if (ref.optional) continue;
        throw new ContainerConfigError(`${kind} "${ref.name ?? ''}" not found`);
      }
      const v = data.get(ref.key);
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ContainerConfigError(`couldn't find key ${ref.key} in ${kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${ns}/${ref.name ?? ''}`);
      }
      env.set(e.name, v);
    }
  }
  return env;
}

/** The final environment: the image's, with PATH defaulted, overridden by the container's. */
export function mergeImageEnv(img: ImageConfig, containerEnv: Map<string, string>): string[] {
  const env = new Map<string, string>();
  for (const kv of img.env ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) env.set(kv.slice(0, i), kv.slice(i + 1));
  }
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  for (const [k, v] of containerEnv) env.set(k, v);
  return [...env].map(([k, v]) => `${k}=${v}`);
}
