// Pod- and Deployment-like schemas built with Lodge's schema builder, and a
// resolver for their $refs: enough of Kubernetes' shapes to exercise every
// strategic-merge and server-side-apply rule without the real kind modules.
import { arr, freeform, int32, int64, mapOf, obj, quantity, ref, str, stringMap, time, type Schema } from '../../src/apis/schema.js';

const withDefault = (s: Schema, d: unknown): Schema => ({ ...s, default: d });

export const definitions: Record<string, Schema> = {
  'test.OwnerReference': obj({ apiVersion: str(), kind: str(), name: str(), uid: str() }),
  'test.ObjectMeta': obj({
    name: str(),
    namespace: str(),
    uid: str(),
    resourceVersion: str(),
    generation: int64(),
    creationTimestamp: time(),
    labels: stringMap(),
    annotations: stringMap(),
    finalizers: arr(str(), { listType: 'set', patchStrategy: 'merge' }),
    ownerReferences: arr(ref('test.OwnerReference'), { mergeKey: 'uid' }),
    managedFields: arr(freeform()),
  }),
  'test.EnvVar': obj({ name: str(), value: str(), valueFrom: freeform() }),
  'test.ContainerPort': obj({ name: str(), containerPort: int32(), protocol: withDefault(str(), 'TCP') }),
  'test.Container': obj({
    name: str(),
    image: str(),
    command: arr(str()),
    args: arr(str()),
    env: arr(ref('test.EnvVar'), { mergeKey: 'name' }),
    ports: arr(ref('test.ContainerPort'), { mergeKey: 'containerPort', mapKeys: ['containerPort', 'protocol'] }),
    resources: obj({ limits: mapOf(quantity()), requests: mapOf(quantity()) }),
  }),
  'test.Volume': obj({
    name: str(),
    emptyDir: obj({ medium: str(), sizeLimit: quantity() }),
    hostPath: obj({ path: str(), type: str() }),
    configMap: obj({ name: str() }),
  }),
  'test.Toleration': obj({ key: str(), operator: str(), value: str(), effect: str() }),
  'test.PodSpec': obj({
    containers: arr(ref('test.Container'), { mergeKey: 'name' }),
    volumes: arr(ref('test.Volume'), { mergeKey: 'name', patchStrategy: 'merge,retainKeys' }),
    tolerations: arr(ref('test.Toleration')),
    nodeSelector: stringMap(),
    restartPolicy: str(),
    dnsConfig: { ...obj({ nameservers: arr(str()), searches: arr(str()) }), 'x-kubernetes-map-type': 'atomic' },
  }),
  'test.Pod': obj({
    apiVersion: str(),
    kind: str(),
    metadata: ref('test.ObjectMeta'),
    spec: ref('test.PodSpec'),
    status: freeform(),
  }),
  'test.Deployment': obj({
    apiVersion: str(),
    kind: str(),
    metadata: ref('test.ObjectMeta'),
    spec: obj({
      replicas: int32(),
      paused: { type: 'boolean' },
      selector: freeform(),
      template: obj({ metadata: ref('test.ObjectMeta'), spec: ref('test.PodSpec') }),
    }),
    status: freeform(),
  }),
};

export const resolve = (s: Schema): Schema => {
  let cur = s;
  for (let i = 0; cur.$ref && i < 16; i++) {
    const d = definitions[cur.$ref];
    if (!d) throw new Error(`no definition ${cur.$ref}`);
    cur = d;
  }
  return cur;
};

export const podSchema = definitions['test.Pod'];
export const deploymentSchema = definitions['test.Deployment'];

/** A deep-frozen copy: any attempt by the code under test to modify it throws. */
export function frozen<T>(v: T): T {
  const copy = structuredClone(v);
  const freeze = (x: unknown): void => {
    if (x && typeof x === 'object') {
      Object.freeze(x);
      for (const c of Object.values(x)) freeze(c);
    }
  };
  freeze(copy);
  return copy;
}

export function pod(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', ...metadata }, spec };
}
