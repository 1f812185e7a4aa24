// The kinds of core/v1, apps/v1, coordination.k8s.io/v1 and lodge.dev/v1alpha1:
// their schemas resolve and accept real-world manifests under strict field
// validation, their semantic validation reports Kubernetes' field paths, and
// their table columns read like kubectl's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registry, type Registry } from '../../src/apis/registry.js';
import type { Schema } from '../../src/apis/schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../src/apis/types.js';

const reg = registry();

function kind(apiVersion: string, k: string): ResourceType {
  const rt = reg.kind(apiVersion, k);
  assert.ok(rt, `${apiVersion} ${k} registered`);
  return rt;
}

/** Every $ref inside a schema, with where it was found. */
function refs(s: Schema, at: string, out: Array<[string, string]>): void {
  if (s.$ref) out.push([s.$ref, at]);
  for (const [k, v] of Object.entries(s.properties ?? {})) refs(v, `${at}.${k}`, out);
  if (s.items) refs(s.items, `${at}[]`, out);
  if (s.additionalProperties && typeof s.additionalProperties === 'object') refs(s.additionalProperties, `${at}{}`, out);
}

/**
 * A strict-decoding check independent of the API server: every field of the
 * object must be declared by the schema (following $refs), with a matching
 * JSON type. Returns the offending paths.
 */
function strictProblems(r: Registry, s: Schema, value: unknown, path: string, out: string[]): void {
  const schema = r.resolve(s);
  if (value === undefined || value === null) return;
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value !== 'string' && typeof value !== 'number') out.push(`${path}: not int-or-string`);
    return;
  }
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return void out.push(`${path}: not an object`);
      if (schema['x-kubernetes-preserve-unknown-fields']) return;
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const p = path ? `${path}.${k}` : k;
        const prop = schema.properties?.[k] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
        if (!prop) out.push(`${p}: unknown field`);
        else strictProblems(r, prop, v, p, out);
      }
      for (const req of schema.required ?? []) if ((value as Record<string, unknown>)[req] === undefined) out.push(`${path}.${req}: required`);
      return;
    }
    case 'array':
      if (!Array.isArray(value)) return void out.push(`${path}: not an array`);
      value.forEach((v, i) => strictProblems(r, schema.items ?? {}, v, `${path}[${i}]`, out));
      return;
    case 'string':
      if (typeof value !== 'string') out.push(`${path}: not a string`);
      else if (schema.enum && !schema.enum.includes(value)) out.push(`${path}: unsupported value ${value}`);
      return;
    case 'integer':
      if (!Number.isInteger(value)) out.push(`${path}: not an integer`);
      return;
    case 'number':
      if (typeof value !== 'number') out.push(`${path}: not a number`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.push(`${path}: not a boolean`);
      return;
    default:
      return;
  }
}

/** What the API server does on create, minus storage: schema check, defaults, validation, initial status. */
function admit(obj: KubeObject, old?: KubeObject): { schema: string[]; errors: FieldError[]; obj: KubeObject } {
  const rt = kind(obj.apiVersion, obj.kind);
  const o = structuredClone(obj);
  const schema: string[] = [];
  strictProblems(reg, { $ref: rt.definition }, o, '', schema);
  rt.applyDefaults?.(o);
  const errors = rt.validate?.(o, old) ?? [];
  if (!old) rt.prepareForCreate?.(o);
  return { schema, errors, obj: o };
}

function fields(errors: FieldError[]): string[] {
  return errors.map((e) => `${e.field} ${e.reason}`);
}

// ---- realistic manifests -------------------------------------------------

const podTemplateSpec = {
  serviceAccountName: 'web',
  imagePullSecrets: [{ name: 'regcred' }],
  securityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } },
  initContainers: [{ name: 'migrate', image: 'registry.example.com/web:1.4.2', command: ['/app/migrate'], envFrom: [{ secretRef: { name: 'db' } }] }],
  containers: [
    {
      name: 'web',
      image: 'registry.example.com/web:1.4.2',
      args: ['--port=8080'],
      ports: [
        { name: 'http', containerPort: 8080 },
        { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
      ],
      env: [
        { name: 'LOG_LEVEL', value: 'info' },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } },
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
        { name: 'FEATURES', valueFrom: { configMapKeyRef: { name: 'web-config', key: 'features', optional: true } } },
        { name: 'MEM_LIMIT', valueFrom: { resourceFieldRef: { containerName: 'web', resource: 'limits.memory', divisor: '1Mi' } } },
      ],
      envFrom: [{ configMapRef: { name: 'web-config' }, prefix: 'CFG_' }],
      resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: 1, memory: '512Mi', 'ephemeral-storage': '1Gi' } },
      volumeMounts: [
        { name: 'config', mountPath: '/etc/web', readOnly: true },
        { name: 'cache', mountPath: '/var/cache/web' },
        { name: 'data', mountPath: '/data' },
        { name: 'tls', mountPath: '/etc/tls', readOnly: true },
        { name: 'podinfo', mountPath: '/etc/podinfo' },
        { name: 'all-in-one', mountPath: '/projected' },
        { name: 'logs', mountPath: '/var/log/host', subPath: 'web', mountPropagation: 'HostToContainer' },
      ],
      livenessProbe: { httpGet: { path: '/healthz', port: 'http', httpHeaders: [{ name: 'X-Probe', value: 'liveness' }] }, initialDelaySeconds: 10, periodSeconds: 15, failureThreshold: 3 },
      readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 5, successThreshold: 2 },
      startupProbe: { exec: { command: ['cat', '/tmp/started'] }, failureThreshold: 30, periodSeconds: 2 },
      lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', 'sleep 5'] } }, postStart: { httpGet: { path: '/warm', port: 8080, scheme: 'HTTP' } } },
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } },
      imagePullPolicy: 'IfNotPresent',
      terminationMessagePolicy: 'FallbackToLogsOnError',
    },
    { name: 'sidecar', image: 'busybox', command: ['sh', '-c', 'tail -F /var/log/host/web.log'], stdin: true, tty: true },
  ],
  volumes: [
    { name: 'config', configMap: { name: 'web-config', items: [{ key: 'web.yaml', path: 'web.yaml', mode: 0o600 }], defaultMode: 0o644 } },
    { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
    { name: 'data', persistentVolumeClaim: { claimName: 'web-data' } },
    { name: 'tls', secret: { secretName: 'web-tls', defaultMode: 0o400 } },
    { name: 'logs', hostPath: { path: '/var/log', type: 'Directory' } },
    { name: 'podinfo', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'cpu', resourceFieldRef: { containerName: 'web', resource: 'requests.cpu' } }] } },
    {
      name: 'all-in-one',
      projected: {
        sources: [
          { secret: { name: 'web-tls', items: [{ key: 'tls.crt', path: 'tls/crt' }] } },
          { configMap: { name: 'web-config' } },
          { downwardAPI: { items: [{ path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } },
          { serviceAccountToken: { path: 'token', audience: 'vault', expirationSeconds: 7200 } },
        ],
      },
    },
    { name: 'scratch', ephemeral: { volumeClaimTemplate: { metadata: { labels: { type: 'scratch' } }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '1Gi' } } } } } },
    { name: 'legacy', awsElasticBlockStore: { volumeID: 'vol-123', fsType: 'ext4' } },
  ],
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'node-type', operator: 'In', values: ['general', 'compute'] }] }] },
      preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } }],
    },
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'web' } } } },
      ],
    },
    podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['cache'] }] } }] },
  },
  tolerations: [
    { key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 },
  ],
  topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'web' } } }],
  priorityClassName: 'high',
  terminationGracePeriodSeconds: 45,
  dnsConfig: { options: [{ name: 'ndots', value: '2' }] },
  hostAliases: [{ ip: '10.1.2.3', hostnames: ['db.internal'] }],
};

const deploymentManifest: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'prod', labels: { app: 'web' }, annotations: { 'deployment.kubernetes.io/revision': '3' } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend'] }] },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '10%' } },
    minReadySeconds: 5,
    template: {
      metadata: { labels: { app: 'web', tier: 'frontend' }, annotations: { 'prometheus.io/scrape': 'true' } },
      spec: podTemplateSpec,
    },
  },
};

const podManifest: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-0', namespace: 'prod', labels: { app: 'web', tier: 'frontend' } },
  spec: structuredClone(podTemplateSpec),
};

const serviceManifest: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'prod' },
  spec: {
    type: 'NodePort',
    selector: { app: 'web' },
    ports: [
      { name: 'http', port: 80, targetPort: 'http', nodePort: 30080 },
      { name: 'metrics', port: 9090, protocol: 'TCP', appProtocol: 'http' },
    ],
    sessionAffinity: 'ClientIP',
    externalTrafficPolicy: 'Local',
  },
};

const secretManifest: KubeObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'web-tls', namespace: 'prod' },
  type: 'kubernetes.io/tls',
  data: { 'tls.crt': Buffer.from('cert').toString('base64'), 'tls.key': Buffer.from('key').toString('base64') },
  stringData: { 'ca.crt': 'ca' },
};

const instanceManifest: KubeObject = {
  apiVersion: 'lodge.dev/v1alpha1',
  kind: 'Instance',
  metadata: { name: 'db1', namespace: 'default' },
  spec: {
    type: 'vm',
    image: 'debian-12',
    cpu: 2,
    memory: '4Gi',
    diskSize: '40Gi',
    runStrategy: 'RerunOnFailure',
    networks: [{ name: 'eth0', network: 'default' }, { name: 'eth1', network: 'storage', ipAddress: '10.20.0.5', macAddress: '52:54:00:ab:cd:ef' }],
    disks: [{ name: 'data', size: '100Gi', storagePool: 'ssd', bus: 'virtio' }],
    cloudInit: {
      hostname: 'db1',
      users: [{ name: 'admin', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk5 admin@laptop'], sudo: true, shell: '/bin/bash' }],
      userData: '#cloud-config\npackages: [postgresql]\n',
    },
    snapshots: { schedule: '0 3 * * *', expiry: '7d' },
    forwards: [{ hostPort: 2222, port: 22 }],
  },
};

const otherManifests: KubeObject[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { team: 'a' } } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config' }, data: { 'web.yaml': 'port: 8080\n', features: 'a,b' }, binaryData: { 'logo.png': 'iVBORw0KGgo=' } },
  {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'web-data' },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'local', resources: { requests: { storage: '10Gi' } } },
  },
  {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'web' },
    subsets: [{ addresses: [{ ip: '10.244.0.5', nodeName: 'node-1', targetRef: { kind: 'Pod', name: 'web-0', namespace: 'prod' } }], ports: [{ name: 'http', port: 8080 }] }],
  },
  {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web-0.17a', namespace: 'prod' },
    involvedObject: { kind: 'Pod', namespace: 'prod', name: 'web-0', uid: 'u1', apiVersion: 'v1', fieldPath: 'spec.containers{web}' },
    reason: 'Pulled',
    message: 'Container image already present on machine',
    source: { component: 'lodge-agent', host: 'node-1' },
    firstTimestamp: '2024-05-01T11:00:00Z',
    lastTimestamp: '2024-05-01T11:00:00Z',
    count: 1,
    type: 'Normal',
    reportingComponent: 'lodge-agent',
    reportingInstance: 'node-1',
  },
  {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } },
    spec: { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'], taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] },
  },
  {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'lodge-controllers', namespace: 'kube-system' },
    spec: { holderIdentity: 'host-a_1234', leaseDurationSeconds: 15, acquireTime: '2024-05-01T11:00:00.000000Z', renewTime: '2024-05-01T11:59:58.123456Z', leaseTransitions: 2 },
  },
  { apiVersion: 'lodge.dev/v1alpha1', kind: 'Image', metadata: { name: 'debian-12' }, spec: { source: { builtin: { name: 'debian', release: 'bookworm' } }, properties: { os: 'Debian' } } },
  { apiVersion: 'lodge.dev/v1alpha1', kind: 'Image', metadata: { name: 'ubuntu-cloud' }, spec: { source: { qcow2: { url: 'https://cloud-images.example.com/noble.img' } } } },
  { apiVersion: 'lodge.dev/v1alpha1', kind: 'Snapshot', metadata: { name: 'db1-before-upgrade' }, spec: { instanceName: 'db1', stateful: true } },
];

// ---- tests ---------------------------------------------------------------

describe('registry', () => {
  it('resolves every $ref of every definition', () => {
    const found: Array<[string, string]> = [];
    for (const [name, s] of Object.entries(reg.definitions)) refs(s, name, found);
    const dangling = found.filter(([ref]) => !reg.definitions[ref]).map(([ref, at]) => `${at} -> ${ref}`);
    assert.deepEqual(dangling, []);
    assert.ok(found.length > 200, 'schemas are built from shared definitions');
  });

  it('serves the kinds with Kubernetes names', () => {
    const names = reg.kinds.map((k) => `${k.group}/${k.plural}`).sort();
    for (const want of ['/pods', '/services', '/namespaces', '/nodes', '/events', '/endpoints', '/configmaps', '/secrets', '/persistentvolumeclaims', 'apps/deployments', 'apps/replicasets', 'coordination.k8s.io/leases', 'lodge.dev/instances', 'lodge.dev/images', 'lodge.dev/snapshots'])
      assert.ok(names.includes(want), want);
    assert.deepEqual(reg.resource('', 'v1', 'pods')?.shortNames, ['po']);
    assert.deepEqual(reg.resource('apps', 'v1', 'deployments')?.shortNames, ['deploy']);
    assert.equal(reg.resource('', 'v1', 'namespaces')?.namespaced, false);
    assert.equal(reg.resource('', 'v1', 'services')?.nameFormat, 'dns1035-label');
    assert.equal(reg.resource('lodge.dev', 'v1alpha1', 'instances')?.strategicMergePatch, false);
  });

  it('tags top-level definitions with their group/version/kind and leaves Name to the server', () => {
    for (const k of reg.kinds) {
      const d = reg.definitions[k.definition];
      assert.deepEqual(d['x-kubernetes-group-version-kind'], [{ group: k.group, version: k.version, kind: k.kind }], k.kind);
      assert.ok(!k.columns.some((c) => c.name.toLowerCase() === 'name'), `${k.kind} has no Name column`);
    }
  });

  it('declares strategic merge keys as Kubernetes does', () => {
    const spec = reg.definitions['io.k8s.api.core.v1.PodSpec'].properties!;
    assert.equal(spec.containers['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(spec.volumes['x-kubernetes-patch-strategy'], 'merge,retainKeys');
    assert.equal(spec.tolerations['x-kubernetes-patch-merge-key'], undefined);
    const container = reg.definitions['io.k8s.api.core.v1.Container'].properties!;
    assert.equal(container.ports['x-kubernetes-patch-merge-key'], 'containerPort');
    assert.deepEqual(container.ports['x-kubernetes-list-map-keys'], ['containerPort', 'protocol']);
    assert.equal(container.env['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(container.volumeMounts['x-kubernetes-patch-merge-key'], 'mountPath');
    const svc = reg.definitions['io.k8s.api.core.v1.ServiceSpec'].properties!;
    assert.deepEqual(svc.ports['x-kubernetes-list-map-keys'], ['port', 'protocol']);
  });
});

describe('realistic manifests', () => {
  for (const [name, manifest] of [
    ['Deployment', deploymentManifest],
    ['Pod', podManifest],
    ['Service', serviceManifest],
    ['Secret', secretManifest],
    ['Instance', instanceManifest],
  ] as const) {
    it(`${name} passes strict schema and semantic validation`, () => {
      const { schema, errors } = admit(manifest);
      assert.deepEqual(schema, []);
      assert.deepEqual(errors, []);
    });
  }

  for (const m of otherManifests) {
    it(`${m.kind} ${m.metadata.name} passes strict schema and semantic validation`, () => {
      const { schema, errors } = admit(m);
      assert.deepEqual(schema, []);
      assert.deepEqual(errors, []);
    });
  }

  it('rejects unknown fields deep inside a pod template', () => {
    const bad = structuredClone(deploymentManifest) as KubeObject & { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } };
    bad.spec.template.spec.containers[0].imagee = 'typo';
    const { schema } = admit(bad);
    assert.deepEqual(schema, ['spec.template.spec.containers[0].imagee: unknown field']);
  });
});

describe('defaults', () => {
  it('pull policy follows the tag, in pods and templates', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'a', image: 'nginx' }, { name: 'b', image: 'nginx:latest' }, { name: 'c', image: 'nginx:1.27' }, { name: 'd', image: 'localhost:5000/x@sha256:abc' }] },
    };
    const { obj } = admit(pod);
    const policies = (obj.spec!.containers as Array<{ imagePullPolicy: string }>).map((c) => c.imagePullPolicy);
    assert.deepEqual(policies, ['Always', 'Always', 'IfNotPresent', 'IfNotPresent']);
    const d = admit(deploymentManifest).obj as KubeObject & { spec: { template: { spec: { containers: Array<{ imagePullPolicy: string }> } } } };
    assert.equal(d.spec.template.spec.containers[1].imagePullPolicy, 'Always');
  });

  it('sets the initial status of pods and namespaces', () => {
    const { obj: pod } = admit(podManifest);
    assert.deepEqual(pod.status, { phase: 'Pending', qosClass: 'Burstable' });
    const guaranteed = admit({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'g' }, spec: { containers: [{ name: 'a', image: 'x:1', resources: { limits: { cpu: '1', memory: '1Gi' } } }] } }).obj;
    assert.equal((guaranteed.status as { qosClass: string }).qosClass, 'Guaranteed');
    const { obj: ns } = admit({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    assert.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
    assert.deepEqual(ns.status, { phase: 'Active' });
  });

  it('fills service target ports and deployment strategy', () => {
    const svc = admit({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } }).obj;
    assert.deepEqual((svc.spec as { ports: unknown[] }).ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
    assert.equal((svc.spec as { type: string }).type, 'ClusterIP');
    const d = structuredClone(deploymentManifest);
    delete (d.spec as Record<string, unknown>).strategy;
    const out = admit(d).obj.spec as Record<string, unknown>;
    assert.deepEqual(out.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
    const recreate = structuredClone(deploymentManifest);
    (recreate.spec as Record<string, unknown>).strategy = { type: 'Recreate' };
    assert.deepEqual(admit(recreate).obj.spec!.strategy, { type: 'Recreate' });
  });

  it('folds Secret stringData into data', () => {
    const { obj } = admit(secretManifest);
    assert.equal((obj.data as Record<string, string>)['ca.crt'], Buffer.from('ca').toString('base64'));
    assert.equal(obj.stringData, undefined);
  });

  it('gives VMs Incus-like sizes', () => {
    const { obj } = admit({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name: 'v' }, spec: { type: 'vm', image: 'debian' } });
    assert.deepEqual(
      { cpu: obj.spec!.cpu, memory: obj.spec!.memory, diskSize: obj.spec!.diskSize, runStrategy: obj.spec!.runStrategy },
      { cpu: 1, memory: '1Gi', diskSize: '10Gi', runStrategy: 'Always' },
    );
    assert.deepEqual(obj.status, { phase: 'Pending' });
  });
});

describe('validation errors', () => {
  const pod = (containers: unknown[], extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers, ...extra } });

  it('pods: containers, names, images and ports', () => {
    assert.deepEqual(fields(admit(pod([])).errors), ['spec.containers FieldValueRequired']);
    assert.deepEqual(fields(admit(pod([{ name: 'a' }])).errors), ['spec.containers[0].image FieldValueRequired']);
    assert.deepEqual(fields(admit(pod([{ name: 'a', image: 'x' }, { name: 'a', image: 'y' }])).errors), ['spec.containers[1].name FieldValueDuplicate']);
    assert.deepEqual(fields(admit(pod([{ name: 'Web_1', image: 'x' }])).errors), ['spec.containers[0].name FieldValueInvalid']);
    assert.deepEqual(fields(admit(pod([{ name: 'a', image: 'x', ports: [{ containerPort: 70000 }] }])).errors), ['spec.containers[0].ports[0].containerPort FieldValueInvalid']);
    assert.deepEqual(fields(admit(pod([{ name: 'a', image: 'x', volumeMounts: [{ name: 'nope', mountPath: '/x' }] }])).errors), ['spec.containers[0].volumeMounts[0].name FieldValueNotFound']);
    assert.deepEqual(
      fields(admit(pod([{ name: 'a', image: 'x', resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }])).errors),
      ['spec.containers[0].resources.requests FieldValueInvalid'],
    );
    assert.deepEqual(fields(admit(pod([{ name: 'a', image: 'x', livenessProbe: { periodSeconds: 3 } }])).errors), ['spec.containers[0].livenessProbe FieldValueRequired']);
    assert.deepEqual(fields(admit(pod([{ name: 'a', image: 'x' }], { volumes: [{ name: 'v' }] })).errors), ['spec.volumes[0] FieldValueRequired']);
  });

  it('pods: the spec is fixed after creation except images and a few fields', () => {
    const before = admit(pod([{ name: 'a', image: 'x:1', ports: [{ containerPort: 80 }] }])).obj;
    const newImage = structuredClone(before);
    (newImage.spec!.containers as Array<{ image: string }>)[0].image = 'x:2';
    assert.deepEqual(admit(newImage, before).errors, []);
    const bound = structuredClone(before);
    bound.spec!.nodeName = 'node-1';
    // Tolerations may only be added to (the created Pod already has the default ones).
    bound.spec!.tolerations = [...((before.spec!.tolerations as unknown[]) ?? []), { key: 'k', operator: 'Exists' }];
    assert.deepEqual(admit(bound, before).errors, []);
    const newPort = structuredClone(before);
    (newPort.spec!.containers as Array<{ ports: Array<{ containerPort: number }> }>)[0].ports[0].containerPort = 81;
    const errors = admit(newPort, before).errors;
    assert.deepEqual(fields(errors), ['spec FieldValueForbidden']);
    assert.match(errors[0].message, /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/);
    assert.match(errors[0].message, /spec\.containers\[0\]\.ports/);
  });

  it('deployments: selector must match the template and cannot change', () => {
    const mismatch = structuredClone(deploymentManifest);
    (mismatch.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels = { app: 'other', tier: 'frontend' };
    const errs = admit(mismatch).errors;
    assert.deepEqual(fields(errs), ['spec.template.metadata.labels FieldValueInvalid']);
    assert.match(errs[0].message, /`selector` does not match template `labels`/);

    const before = admit(deploymentManifest).obj;
    const moved = structuredClone(before);
    (moved.spec as { selector: unknown }).selector = { matchLabels: { app: 'web', tier: 'frontend' } };
    assert.deepEqual(fields(admit(moved, before).errors), ['spec.selector FieldValueInvalid']);

    const never = structuredClone(deploymentManifest);
    (never.spec as { template: { spec: Record<string, unknown> } }).template.spec.restartPolicy = 'Never';
    assert.deepEqual(fields(admit(never).errors), ['spec.template.spec.restartPolicy FieldValueNotSupported']);

    const stuck = structuredClone(deploymentManifest);
    (stuck.spec as Record<string, unknown>).strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } };
    assert.deepEqual(fields(admit(stuck).errors), ['spec.strategy.rollingUpdate.maxUnavailable FieldValueInvalid']);
  });

  it('services: ports, and the cluster IP once allocated', () => {
    assert.deepEqual(fields(admit({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { selector: { a: 'b' } } }).errors), ['spec.ports FieldValueRequired']);
    assert.deepEqual(admit({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { clusterIP: 'None', selector: { a: 'b' } } }).errors, []);
    assert.deepEqual(
      fields(admit({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }, { port: 81 }] } }).errors),
      ['spec.ports[0].name FieldValueRequired', 'spec.ports[1].name FieldValueRequired'],
    );
    const before = admit({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { clusterIP: '10.96.0.10', ports: [{ port: 53, protocol: 'UDP' }] } }).obj;
    const after = structuredClone(before);
    after.spec!.clusterIP = '10.96.0.11';
    assert.deepEqual(fields(admit(after, before).errors), ['spec.clusterIP FieldValueInvalid']);
  });

  it('config maps and secrets: key names and required keys', () => {
    assert.deepEqual(fields(admit({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'bad key': 'x', ok: 'y' } }).errors), ['data[bad key] FieldValueInvalid']);
    assert.deepEqual(
      fields(admit({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'Y2VydA==' } }).errors),
      ['data[tls.key] FieldValueRequired'],
    );
  });

  it('images and snapshots: one source, content fixed after creation', () => {
    const img = (source: unknown): KubeObject => ({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Image', metadata: { name: 'i' }, spec: { source } });
    assert.equal(admit(img({ qcow2: { path: '/srv/x.qcow2' } })).obj.spec!.type, 'vm');
    assert.deepEqual(fields(admit(img({})).errors), ['spec.source FieldValueRequired']);
    assert.deepEqual(fields(admit(img({ builtin: { name: 'windows' } })).errors), ['spec.source.builtin.name FieldValueNotSupported']);
    assert.deepEqual(fields(admit(img({ rootfs: { url: 'ftp://x', path: '/x' } })).errors), ['spec.source.rootfs FieldValueRequired', 'spec.source.rootfs.url FieldValueInvalid']);
    const snap = admit({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Snapshot', metadata: { name: 's' }, spec: { instanceName: 'db1' } }).obj;
    const moved = structuredClone(snap);
    moved.spec!.instanceName = 'db2';
    assert.deepEqual(fields(admit(moved, snap).errors), ['spec FieldValueForbidden']);
    const later = structuredClone(snap);
    later.spec!.expiresAt = '2030-01-01T00:00:00Z';
    assert.deepEqual(admit(later, snap).errors, []);
  });

  it('instances: sane VM sizes, immutable type', () => {
    const vm = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name: 'v' }, spec: { type: 'vm', image: 'debian', ...spec } });
    assert.deepEqual(fields(admit(vm({ memory: '32Mi' })).errors), ['spec.memory FieldValueInvalid']);
    assert.deepEqual(fields(admit(vm({ cpu: '500m' })).errors), ['spec.cpu FieldValueInvalid']);
    assert.deepEqual(fields(admit(vm({ snapshots: { schedule: '0 25 * * *' } })).errors), ['spec.snapshots.schedule FieldValueInvalid']);
    assert.deepEqual(fields(admit(vm({ disks: [{ name: 'root', size: '1Gi' }] })).errors), ['spec.disks[0].name FieldValueInvalid']);
    const before = admit(vm({})).obj;
    const after = structuredClone(before);
    after.spec!.type = 'container';
    assert.deepEqual(fields(admit(after, before).errors), ['spec.type FieldValueInvalid']);
    const container = admit({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name: 'c' }, spec: { image: 'busybox', cpu: '500m', memory: '64Mi' } });
    assert.deepEqual(container.errors, []);
  });
});

describe('columns', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  const ago = (s: number): string => new Date(now - s * 1000).toISOString();
  const row = (rt: ResourceType, o: KubeObject, wide = false): Record<string, unknown> =>
    Object.fromEntries(rt.columns.filter((c) => wide || c.priority === 0).map((c) => [c.name, c.cell(o, now)]));

  const runningPod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-0', creationTimestamp: ago(3600) },
    spec: { nodeName: 'node-1', containers: [{ name: 'web', image: 'x' }, { name: 'side', image: 'y' }] },
    status: {
      phase: 'Running',
      podIP: '10.244.0.5',
      containerStatuses: [
        { name: 'web', ready: true, restartCount: 0, image: 'x', imageID: 'x', state: { running: { startedAt: ago(3500) } } },
        {
          name: 'side',
          ready: false,
          restartCount: 3,
          image: 'y',
          imageID: 'y',
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(300) } },
        },
      ],
    },
  };

  it('pod rows read like kubectl get pods -o wide', () => {
    const pod = kind('v1', 'Pod');
    assert.deepEqual(
      pod.columns.map((c) => c.name),
      ['Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates'],
    );
    assert.deepEqual(row(pod, runningPod, true), {
      Ready: '1/2',
      Status: 'CrashLoopBackOff',
      Restarts: '3 (5m ago)',
      Age: '60m',
      IP: '10.244.0.5',
      Node: 'node-1',
      'Nominated Node': '<none>',
      'Readiness Gates': '<none>',
    });
  });

  it('pod status shows init progress, completion and termination', () => {
    const pod = kind('v1', 'Pod');
    const initializing: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { initContainers: [{ name: 'i1' }, { name: 'i2' }], containers: [{ name: 'c' }] },
      status: {
        phase: 'Pending',
        initContainerStatuses: [
          { name: 'i1', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          { name: 'i2', ready: false, restartCount: 0, state: { running: {} } },
        ],
      },
    };
    assert.equal(row(pod, initializing).Status, 'Init:1/2');
    const pending: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] }, status: { phase: 'Pending' } };
    assert.deepEqual(row(pod, pending), { Ready: '0/1', Status: 'Pending', Restarts: '0', Age: '<unknown>' });
    const terminating = structuredClone(runningPod);
    terminating.metadata.deletionTimestamp = ago(1);
    assert.equal(row(pod, terminating).Status, 'Terminating');
    const done: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c' }] },
      status: { phase: 'Succeeded', containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
    };
    assert.equal(row(pod, done).Status, 'Completed');
  });

  it('service, deployment and node rows', () => {
    const svc = admit(serviceManifest).obj;
    svc.spec!.clusterIP = '10.96.4.2';
    svc.metadata.creationTimestamp = ago(90);
    assert.deepEqual(row(kind('v1', 'Service'), svc, true), {
      Type: 'NodePort',
      'Cluster-IP': '10.96.4.2',
      'External-IP': '<none>',
      'Port(s)': '80:30080/TCP,9090/TCP',
      Age: '90s',
      Selector: 'app=web',
    });
    const d = admit(deploymentManifest).obj;
    d.status = { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 };
    assert.deepEqual(row(kind('apps/v1', 'Deployment'), d, true), {
      Ready: '2/3',
      'Up-to-date': 3,
      Available: 2,
      Age: '<unknown>',
      Containers: 'web,sidecar',
      Images: 'registry.example.com/web:1.4.2,busybox',
      Selector: 'app=web,tier in (frontend)',
    });
    const node: KubeObject = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', labels: { 'node-role.kubernetes.io/control-plane': '' } },
      spec: { unschedulable: true },
      status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.33.0-lodge' }, addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] },
    };
    const r = row(kind('v1', 'Node'), node, true);
    assert.equal(r.Status, 'Ready,SchedulingDisabled');
    assert.equal(r.Roles, 'control-plane');
    assert.equal(r['Internal-IP'], '192.168.1.10');
    assert.equal(r['External-IP'], '<none>');
  });

  it('event, endpoints and lease rows', () => {
    const ev = otherManifests.find((m) => m.kind === 'Event')!;
    assert.deepEqual(row(kind('v1', 'Event'), ev), { 'Last Seen': '60m', Type: 'Normal', Reason: 'Pulled', Object: 'pod/web-0', Message: 'Container image already present on machine' });
    const ep = structuredClone(otherManifests.find((m) => m.kind === 'Endpoints')!) as KubeObject & { subsets: Array<{ addresses: unknown[] }> };
    assert.equal(row(kind('v1', 'Endpoints'), ep).Endpoints, '10.244.0.5:8080');
    ep.subsets[0].addresses = ['1', '2', '3', '4', '5'].map((n) => ({ ip: `10.0.0.${n}` }));
    assert.equal(row(kind('v1', 'Endpoints'), ep).Endpoints, '10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 2 more...');
    const lease = otherManifests.find((m) => m.kind === 'Lease')!;
    assert.equal(row(kind('coordination.k8s.io/v1', 'Lease'), lease).Holder, 'host-a_1234');
  });

  it('field selectors read the fields Kubernetes supports', () => {
    const pod = kind('v1', 'Pod');
    assert.equal(pod.selectableFields!['spec.nodeName'](runningPod), 'node-1');
    assert.equal(pod.selectableFields!['status.phase'](runningPod), 'Running');
    const ev: KubeObject = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e' }, involvedObject: { kind: 'Pod', name: 'web-0' }, source: { component: 'scheduler' } };
    const event = kind('v1', 'Event');
    assert.equal(event.selectableFields!['involvedObject.name'](ev), 'web-0');
    assert.equal(event.selectableFields!.source(ev), 'scheduler');
  });
});
